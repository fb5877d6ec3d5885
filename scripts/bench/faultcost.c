/*
 * faultcost prints what one page fault on fresh anonymous memory costs on
 * this machine, in microseconds: the median over 5 rounds of mapping 64 MiB
 * and writing one byte per page. A process start is mostly such faults (a
 * Go hello-world takes about 200, a credential helper's get 400 to 500), so
 * a machine where they are slow (a virtual machine whose host backs guest
 * memory lazily) runs every command of the benchmark slower in proportion:
 * run.sh records it beside the load average, to compare runs by.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define SIZE (64L << 20)
#define ROUNDS 5

static int cmp(const void *a, const void *b) {
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

int main(void) {
	long page = sysconf(_SC_PAGESIZE);
	double us[ROUNDS];
	for (int r = 0; r < ROUNDS; r++) {
		struct timespec a, b;
		clock_gettime(CLOCK_MONOTONIC, &a);
		char *p = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED) {
			perror("faultcost: mmap");
			return 1;
		}
		for (long i = 0; i < SIZE; i += page)
			p[i] = 1;
		clock_gettime(CLOCK_MONOTONIC, &b);
		munmap(p, SIZE);
		double ns = (b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec);
		us[r] = ns / 1e3 / (SIZE / page);
	}
	qsort(us, ROUNDS, sizeof us[0], cmp);
	printf("%.2f\n", us[ROUNDS / 2]);
	return 0;
}
