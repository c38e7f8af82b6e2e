// probe_helper: a deterministic source of kernel and user-space events for
// the tracepoint and uprobe end-to-end tests.
//
// It reads one number N per line from stdin; for each it makes N getpid
// system calls (the raw syscall, so no libc caching) and N calls of
// bpfunit_probe_target, then writes "ok N" to stdout. It exits at EOF.
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/syscall.h>

__attribute__((noinline, used)) int bpfunit_probe_target(int x)
{
	__asm__ volatile("" ::: "memory");
	return x + 1;
}

int main(void)
{
	char line[64];
	volatile int acc = 0;

	while (fgets(line, sizeof(line), stdin)) {
		int n = atoi(line);
		for (int i = 0; i < n; i++) {
			syscall(SYS_getpid);
			acc = bpfunit_probe_target(acc);
		}
		printf("ok %d\n", n);
		fflush(stdout);
	}
	return 0;
}
