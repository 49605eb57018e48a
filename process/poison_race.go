//go:build race

package process

// poisonReleased: see ECSProcessor.unref.
const poisonReleased = true
