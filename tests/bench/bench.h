/* bench.h - what the benchmark programs share: a monotonic clock, sample
 * percentiles, and the address a sample index stands for. Header-only so that
 * each program stays one file. Results are printed as key=value lines that
 * tests/bench/run.sh reads. */
#ifndef ISOL_BENCH_H
#define ISOL_BENCH_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static inline uint64_t bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline int bench_cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Sort @v in place; afterwards bench_pct() reads percentiles from it. */
static inline void bench_sort(uint64_t *v, size_t n)
{
	qsort(v, n, sizeof(*v), bench_cmp_u64);
}

/* The nearest-rank percentile @pct (0..100) of a sorted array; 0 when empty. */
static inline uint64_t bench_pct(const uint64_t *sorted, size_t n, unsigned pct)
{
	size_t rank;

	if (n == 0)
		return 0;
	rank = (n * pct + 99) / 100; /* ceil(n * pct / 100), 1-based */
	if (rank == 0)
		rank = 1;
	return sorted[rank - 1];
}

/* The IPv4 address sample @i stands for under the /16 "@base" ("10.201"):
 * base.X.Y with Y in 1..250, so that 65,000 samples never collide. Returns 0,
 * or -1 when @base does not fit. */
static inline int bench_addr(char *out, size_t len, const char *base, unsigned long i)
{
	int n = snprintf(out, len, "%s.%lu.%lu", base, (i / 250) % 256, 1 + i % 250);

	return n < 0 || (size_t)n >= len ? -1 : 0;
}

/* Print @label's p50/p99/max/mean (microseconds, two decimals) from @ns
 * samples, sorting them. */
static inline void bench_report_ns(const char *label, uint64_t *ns, size_t n)
{
	double sum = 0;
	size_t i;

	for (i = 0; i < n; i++)
		sum += (double)ns[i];
	bench_sort(ns, n);
	printf("%s_n=%zu\n", label, n);
	printf("%s_p50_us=%.2f\n", label, (double)bench_pct(ns, n, 50) / 1e3);
	printf("%s_p99_us=%.2f\n", label, (double)bench_pct(ns, n, 99) / 1e3);
	printf("%s_max_us=%.2f\n", label, n ? (double)ns[n - 1] / 1e3 : 0.0);
	printf("%s_mean_us=%.2f\n", label, n ? sum / (double)n / 1e3 : 0.0);
}

#endif
