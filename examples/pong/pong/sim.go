package pong

import "github.com/zinxgame/zinxgame/examples/pong/pongpb"

// The field, in integer units: the simulation has no floats, so a match
// replays exactly from its inputs.
const (
	Width        = 1000
	Height       = 600
	PaddleHeight = 120
	PaddleX      = 30 // the paddles' faces: x = PaddleX and Width - PaddleX
	PaddleSpeed  = 20 // units a tick
	serveSpeed   = 24 // the ball's x speed at a serve; each return adds 1
	maxSpeedX    = 40
	maxSpeedY    = 24 // a ball hitting a paddle's end leaves this steep
)

// serveY is the y speed of each serve in turn: varied, but fixed, so the
// match is deterministic.
var serveY = [...]int32{5, -9, 3, -6, 10, -2, 7, -11}

// Sim is one match's simulation: pure state, advanced by Step.
type Sim struct {
	BallX, BallY, VX, VY int32
	Paddle               [2]int32      // the paddles' centres (y), left and right
	Dir                  [2]pongpb.Dir // how each paddle moves
	Score                [2]uint32
	Ticks                uint64
	serves               int
}

// NewSim returns a match about to serve towards the right.
func NewSim() *Sim {
	s := &Sim{Paddle: [2]int32{Height / 2, Height / 2}}
	s.serve(1)
	return s
}

// serve puts the ball in the middle, moving towards side.
func (s *Sim) serve(side int) {
	s.BallX, s.BallY = Width/2, Height/2
	s.VX, s.VY = serveSpeed, serveY[s.serves%len(serveY)]
	if side == 0 {
		s.VX = -serveSpeed
	}
	s.serves++
}

// Step advances one tick. It returns the side that scored, or -1.
func (s *Sim) Step() int {
	s.Ticks++
	for i, d := range s.Dir {
		switch d {
		case pongpb.Dir_DIR_UP:
			s.Paddle[i] = max(s.Paddle[i]-PaddleSpeed, PaddleHeight/2)
		case pongpb.Dir_DIR_DOWN:
			s.Paddle[i] = min(s.Paddle[i]+PaddleSpeed, Height-PaddleHeight/2)
		}
	}
	s.BallX += s.VX
	s.BallY += s.VY
	if s.BallY < 0 { // the walls reflect
		s.BallY, s.VY = -s.BallY, -s.VY
	} else if s.BallY > Height {
		s.BallY, s.VY = 2*Height-s.BallY, -s.VY
	}
	switch {
	case s.VX < 0 && s.BallX <= PaddleX && s.BallX-s.VX > PaddleX:
		s.hit(0, PaddleX)
	case s.VX > 0 && s.BallX >= Width-PaddleX && s.BallX-s.VX < Width-PaddleX:
		s.hit(1, Width-PaddleX)
	}
	switch {
	case s.BallX < 0:
		s.Score[1]++
		s.serve(0) // towards the side that lost the point
		return 1
	case s.BallX > Width:
		s.Score[0]++
		s.serve(1)
		return 0
	}
	return -1
}

// hit returns the ball off side's paddle if the paddle is there: the
// farther from the paddle's centre, the steeper it leaves.
func (s *Sim) hit(side int, face int32) {
	off := s.BallY - s.Paddle[side]
	if off < -PaddleHeight/2 || off > PaddleHeight/2 {
		return // missed: the ball goes on towards the goal line
	}
	s.BallX = 2*face - s.BallX
	speed := min(abs(s.VX)+1, maxSpeedX)
	s.VX = speed
	if side == 1 {
		s.VX = -speed
	}
	s.VY = off * maxSpeedY / (PaddleHeight / 2)
}

func abs(v int32) int32 {
	if v < 0 {
		return -v
	}
	return v
}

// State is the simulation as the clients see it.
func (s *Sim) State(paused bool) *pongpb.State {
	return &pongpb.State{Tick: s.Ticks, BallX: s.BallX, BallY: s.BallY, LeftY: s.Paddle[0], RightY: s.Paddle[1],
		LeftScore: s.Score[0], RightScore: s.Score[1], Paused: paused}
}
