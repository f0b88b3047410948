package bluegreen

// Colour is one of the two Deployments of a blue/green installation.
type Colour string

// The two colours.
const (
	Blue  Colour = "blue"
	Green Colour = "green"
)

// Other is the colour that is not c; the other of none is blue, the colour
// a first apply makes live.
func (c Colour) Other() Colour {
	if c == Blue {
		return Green
	}
	return Blue
}

// Colours lists both colours in a stable order.
var Colours = []Colour{Blue, Green}
