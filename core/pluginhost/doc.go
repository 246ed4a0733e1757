// Package pluginhost runs and supervises plugin processes for the moderator
// host: it checks a binary's sha256 pin before exec (on a private copy, which
// is what runs), launches it through go-plugin (gRPC only, AutoMTLS,
// versioned protocol negotiation) with a minimal environment and no standard
// input (go-plugin would pass on the host's; see runnerFor), forwards its
// logs under the instance's name, notices when it dies or hangs, restarts it
// with exponential backoff and jitter, and quarantines one that keeps
// crashing instead of looping on it.
//
// Every instance starts in parallel. Callers reach a running plugin through
// Instance.Plugin, which waits while a restart is under way.
package pluginhost
