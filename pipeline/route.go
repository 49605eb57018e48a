package pipeline

import "slices"

// Route selects the events a sink takes. A field's include list, when not
// empty, must contain the event's value; its exclude list must not. All
// fields must agree. An empty Route takes every event.
type Route struct {
	Dataset  Match `mapstructure:"dataset"`  // event.dataset
	Category Match `mapstructure:"category"` // event.category (any of the event's categories)
	Kind     Match `mapstructure:"kind"`     // event.kind
	Hostname Match `mapstructure:"hostname"` // log.syslog.hostname
	Source   Match `mapstructure:"source"`   // configured source name
}

// Match is an include and an exclude list of exact values.
type Match struct {
	Include []string `mapstructure:"include"`
	Exclude []string `mapstructure:"exclude"`
}

func (m Match) empty() bool { return len(m.Include) == 0 && len(m.Exclude) == 0 }

func (m Match) accepts(v string) bool {
	if len(m.Include) > 0 && !slices.Contains(m.Include, v) {
		return false
	}
	return !slices.Contains(m.Exclude, v)
}

func (m Match) acceptsAny(vs []string) bool {
	if len(m.Include) > 0 && !slices.ContainsFunc(vs, func(v string) bool { return slices.Contains(m.Include, v) }) {
		return false
	}
	return !slices.ContainsFunc(vs, func(v string) bool { return slices.Contains(m.Exclude, v) })
}

// All reports whether the route takes every event.
func (r Route) All() bool {
	return r.Dataset.empty() && r.Category.empty() && r.Kind.empty() && r.Hostname.empty() && r.Source.empty()
}

// accepts reports whether the route takes ev.
func (r Route) accepts(ev *Event) bool {
	return r.Dataset.accepts(ev.Routes.Dataset) &&
		r.Category.acceptsAny(ev.Routes.Categories) &&
		r.Kind.accepts(ev.Routes.Kind) &&
		r.Hostname.accepts(ev.Routes.Hostname) &&
		r.Source.accepts(ev.Origin.Source)
}
