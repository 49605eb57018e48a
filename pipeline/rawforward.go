package pipeline

// RawForwarder is implemented by sinks that may write only what a source
// set on an event and the routing fields Routes.Hostname and
// Routes.Namespace, never its JSON or another field of Routes: a Kafka sink
// in edge mode, whose indexers parse the raw message. ForwardsRaw reports
// whether this sink, as configured, is one (a topic template over
// event.dataset is not). A sink without the method needs the document.
type RawForwarder interface {
	ForwardsRaw() bool
}

// ReadsParsedFields reports whether the route matches on a field that only
// parsing the message gives (dataset, category, kind): its sink needs the
// full processor even when it forwards raw messages.
func (r Route) ReadsParsedFields() bool {
	return !r.Dataset.empty() || !r.Category.empty() || !r.Kind.empty()
}
