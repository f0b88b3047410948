package logkey

// Keys of log attributes. A new key goes here, in the group it belongs to.
const (
	// What a line is about.

	Installation  = "installation"  // an installation's name
	Installations = "installations" // names of several installations
	Object        = "object"        // an object, as Kind/namespace/name
	Objects       = "objects"       // a count of objects
	Kind          = "kind"          // a group and kind, as Kind.group
	Resource      = "resource"      // a group and resource, as resource.group
	File          = "file"          // a file, relative to the repository's root

	// The repository and its commits. A commit is always the full SHA.

	RepoURL        = "repo_url"        // the Git repository followed
	Ref            = "ref"             // the ref followed
	PushedRef      = "pushed_ref"      // the ref a push webhook names
	Commit         = "commit"          // the commit a line is about
	PreviousCommit = "previous_commit" // the commit before Commit
	HeadCommit     = "head_commit"     // a pull request's head
	BaseCommit     = "base_commit"     // the commit a pull request is planned against
	CacheDir       = "cache_dir"       // the local clone
	NextPoll       = "next_poll"       // when the repository is looked at next

	// Outcomes.

	Error               = "error"                // the error, always under this key
	Reason              = "reason"               // why, as a word or a sentence
	Action              = "action"               // what was or will be done (apply, drift, webhook)
	Result              = "result"               // what came back
	Summary             = "summary"              // counts of what was done, in a sentence
	State               = "state"                // a commit status's state
	Warning             = "warning"              // a warning another tool printed
	Stack               = "stack"                // a goroutine's stack after a panic
	Fields              = "fields"               // field paths, comma-separated
	Managers            = "managers"             // field managers, comma-separated
	NotDeleted          = "not_deleted"          // objects a prune left, with why
	ConsecutiveFailures = "consecutive_failures" // failures in a row
	Message             = "message"              // what happened, in a sentence

	// Blue/green cutovers.

	Cutover = "cutover" // a cutover's number, from 1
	Step    = "step"    // the step a cutover is at

	// Time.

	Duration     = "duration"      // how long the line's work took
	PlanDuration = "plan_duration" // the part of Duration spent fetching and planning
	RetryIn      = "retry_in"      // the wait before the next try
	Wait         = "wait"          // a wait before going on

	// GitHub.

	GitHubRepository = "github_repository" // OWNER/NAME
	HeadRepository   = "head_repository"   // a pull request's head repository, OWNER/NAME
	PullRequest      = "pull_request"      // a pull request's number
	StatusContext    = "status_context"    // a commit status's context
	Event            = "event"             // a webhook's event
	Delivery         = "delivery"          // a webhook's delivery ID
	Call             = "call"              // a GitHub API call, in words
	RateLimit        = "rate_limit"        // which rate limit: primary or secondary
	Attempt          = "attempt"           // the try's number, from 1
	Suppressed       = "suppressed"        // lines like this one left out since the last
	RemoteAddr       = "remote_addr"       // a client's address
	TokenFile        = "token_file"        // the file a token is read from
	PlanForkPRs      = "plan_fork_prs"     // whether pull requests from forks are planned

	// The daemon and its replicas.

	Version    = "version"     // gitopsd's version
	Targets    = "targets"     // the modules this process runs
	Addr       = "addr"        // the address served
	Lease      = "lease"       // the leader election Lease, as namespace/name
	Identity   = "identity"    // this replica's identity in the Lease
	Leader     = "leader"      // the leading replica's identity
	LeaderAddr = "leader_addr" // the address the leader is reached at

	// The Go runtime.

	MemoryLimit = "memory_limit" // its soft memory limit, in bytes
)
