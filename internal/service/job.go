package service

// JobResult is how a systemd job ended, as systemd's JobRemoved signal
// reports it (see org.freedesktop.systemd1(5)).
type JobResult string

// The results systemd reports.
const (
	// JobDone: the job succeeded.
	JobDone JobResult = "done"
	// JobCanceled: the job was canceled before it finished.
	JobCanceled JobResult = "canceled"
	// JobTimeout: the job timed out.
	JobTimeout JobResult = "timeout"
	// JobFailed: the job failed (the oneshot exited non-zero).
	JobFailed JobResult = "failed"
	// JobDependency: a job this one depended on failed.
	JobDependency JobResult = "dependency"
	// JobSkipped: the job did not apply (reload of an inactive unit).
	JobSkipped JobResult = "skipped"
)

// OK reports whether the job succeeded.
func (r JobResult) OK() bool { return r == JobDone }
