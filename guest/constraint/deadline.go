package constraint

import (
	"errors"
	"time"
)

// ErrDeadline is MaskBefore's error when its deadline passed before the mask was done.
var ErrDeadline = errors.New("constraint: the deadline passed before the mask was done")

// pastDeadline is what a matcher panics with once its deadline has passed; MaskBefore recovers it.
type pastDeadline struct{}

// deadliner is a Matcher whose steps can be long (a GBNF matcher steps up to maxGBNFStacks stacks a
// character, a JSON Schema's its configurations, and a hostile grammar or schema makes a walk meet many
// states), so MaskBefore lends it a check of the deadline (a function, so that a guest, which never calls
// MaskBefore, links no clock into its steps).
type deadliner interface {
	setDeadline(past func() bool)
}

// MaskBefore is Mask that gives up once deadline has passed: where the host computes a mask for a guest,
// no engine stops it at the guest's deadline. A GBNF or JSON Schema matcher looks at the clock every few
// characters it steps; walks of other matchers (regexes) are bounded by the trie's size. After ErrDeadline, mask is undefined and
// so is m's state: drop m. A zero deadline is none.
func (t *Trie) MaskBefore(m Matcher, mask []uint32, deadline time.Time) (err error) {
	d, ok := m.(deadliner)
	if !ok || deadline.IsZero() {
		t.Mask(m, mask)
		return nil
	}
	d.setDeadline(func() bool { return !time.Now().Before(deadline) })
	defer d.setDeadline(nil)
	defer func() {
		if r := recover(); r != nil {
			if _, past := r.(pastDeadline); !past {
				panic(r)
			}
			err = ErrDeadline
		}
	}()
	t.Mask(m, mask)
	return nil
}

// deadlineEvery is how many steps a matcher takes between looks at the clock.
const deadlineEvery = 32

// deadlineClock is what a matcher keeps of MaskBefore's deadline.
type deadlineClock struct {
	late  func() bool // MaskBefore's check, while it runs; nil: none
	ticks uint32      // steps since the clock was last looked at
}

func (d *deadlineClock) setDeadline(past func() bool) { d.late, d.ticks = past, 0 }

// checkDeadline panics with pastDeadline once the matcher's deadline (none without MaskBefore) has
// passed, looking at the clock on the first call and every deadlineEvery calls after. A step calls it
// before it changes anything.
func (d *deadlineClock) checkDeadline() {
	if d.late == nil {
		return
	}
	if d.ticks++; d.ticks%deadlineEvery == 1 && d.late() {
		panic(pastDeadline{})
	}
}
