/* thread.h - the agent's few helper threads (a large apply: half of its
 * parse, its journal) start with every signal blocked, so that SIGTERM,
 * SIGHUP and SIGCHLD always reach the event loop's thread. */
#ifndef ISOL_THREAD_H
#define ISOL_THREAD_H

#include <pthread.h>
#include <signal.h>

/* pthread_create() with all signals blocked in the new thread; 0 or an
 * errno value. */
static inline int isol_thread_start(pthread_t *t, void *(*fn)(void *), void *arg)
{
	sigset_t all, old;
	int rc;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(t, NULL, fn, arg);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return rc;
}

#endif
