/* Unit tests for iopool.c: submit and complete, completion order, cancel,
 * a full pool, room waiters and drain. Jobs that must stay running are
 * held on a gate (a mutex and a condition) the test opens; every wait on
 * the pool's fd is bounded by poll's timeout. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "iopool.h"

/* Bound on any single wait for a completion: a broken pool fails the test
 * instead of hanging it. */
#define WAIT_MS 10000

struct gate {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool open;
    int started; /* jobs that reached the gate */
};

static struct gate gate = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false, 0 };

static void gate_reset(void)
{
    pthread_mutex_lock(&gate.lock);
    gate.open = false;
    gate.started = 0;
    pthread_mutex_unlock(&gate.lock);
}

static void gate_open(void)
{
    pthread_mutex_lock(&gate.lock);
    gate.open = true;
    pthread_cond_broadcast(&gate.cond);
    pthread_mutex_unlock(&gate.lock);
}

struct test_job {
    struct iopool_job job;
    bool held;      /* run waits at the gate */
    int ran;        /* written by the pool thread */
    int done;       /* loop side */
    bool saw_cancel;
    int order;      /* the done call's rank */
};

static int done_rank;

static void test_job_run(struct iopool_job *job)
{
    struct test_job *t = (struct test_job *)job;
    if (t->held) {
        pthread_mutex_lock(&gate.lock);
        gate.started++;
        while (!gate.open)
            pthread_cond_wait(&gate.cond, &gate.lock);
        pthread_mutex_unlock(&gate.lock);
    }
    t->ran++;
}

static void test_job_done(struct iopool_job *job)
{
    struct test_job *t = (struct test_job *)job;
    t->done++;
    t->saw_cancel = job->cancelled;
    t->order = ++done_rank;
}

static void test_job_init(struct test_job *t, bool held)
{
    *t = (struct test_job){ .job = { .run = test_job_run, .done = test_job_done }, .held = held };
}

/* Deliver until n jobs in all were delivered, waiting on the pool's fd. */
static void deliver_n(struct iopool *p, size_t n)
{
    size_t got = 0;
    for (int i = 0; i < 1000 && got < n; i++) {
        struct pollfd pfd = { .fd = iopool_fd(p), .events = POLLIN };
        assert_true(poll(&pfd, 1, WAIT_MS) >= 0);
        got += iopool_deliver(p);
    }
    assert_int_equal(got, n);
}

static void wait_started(int n)
{
    for (int i = 0; i < WAIT_MS; i++) {
        pthread_mutex_lock(&gate.lock);
        int s = gate.started;
        pthread_mutex_unlock(&gate.lock);
        if (s >= n)
            return;
        poll(NULL, 0, 1);
    }
    fail_msg("jobs never started");
}

static void test_iopool_submit_runs_on_a_thread_and_completes_on_deliver(void **state)
{
    (void)state;
    struct iopool *p = iopool_new(2, 4);
    assert_non_null(p);
    struct test_job t;
    test_job_init(&t, false);
    assert_int_equal(iopool_submit(p, &t.job), 0);
    assert_int_equal(iopool_in_flight(p), 1);
    deliver_n(p, 1);
    assert_int_equal(t.ran, 1);
    assert_int_equal(t.done, 1);
    assert_false(t.saw_cancel);
    assert_int_equal(iopool_in_flight(p), 0);
    /* Nothing more: deliver finds nothing and does not block. */
    assert_int_equal(iopool_deliver(p), 0);
    iopool_free(p);
}

static void test_iopool_done_is_never_called_before_deliver(void **state)
{
    (void)state;
    gate_reset();
    struct iopool *p = iopool_new(1, 0);
    assert_non_null(p);
    struct test_job t;
    test_job_init(&t, true);
    assert_int_equal(iopool_submit(p, &t.job), 0);
    wait_started(1);
    assert_int_equal(iopool_deliver(p), 0); /* still running */
    assert_int_equal(t.done, 0);
    gate_open();
    deliver_n(p, 1);
    assert_int_equal(t.done, 1);
    iopool_free(p);
}

static void test_iopool_one_thread_completes_in_submit_order(void **state)
{
    (void)state;
    struct iopool *p = iopool_new(1, 8);
    assert_non_null(p);
    struct test_job t[6];
    done_rank = 0;
    for (int i = 0; i < 6; i++) {
        test_job_init(&t[i], false);
        assert_int_equal(iopool_submit(p, &t[i].job), 0);
    }
    deliver_n(p, 6);
    for (int i = 0; i < 6; i++) {
        assert_int_equal(t[i].ran, 1);
        assert_int_equal(t[i].order, i + 1);
    }
    iopool_free(p);
}

static void test_iopool_cancel_still_runs_and_tells_done(void **state)
{
    (void)state;
    gate_reset();
    struct iopool *p = iopool_new(1, 1);
    assert_non_null(p);
    struct test_job running, queued;
    test_job_init(&running, true);
    test_job_init(&queued, false);
    assert_int_equal(iopool_submit(p, &running.job), 0);
    assert_int_equal(iopool_submit(p, &queued.job), 0);
    wait_started(1);
    iopool_cancel(&running.job); /* while it runs */
    iopool_cancel(&queued.job);  /* before it starts */
    gate_open();
    deliver_n(p, 2);
    assert_int_equal(running.ran, 1);
    assert_int_equal(queued.ran, 1); /* never dropped: run cleans up */
    assert_true(running.saw_cancel);
    assert_true(queued.saw_cancel);
    iopool_free(p);
}

static void test_iopool_full_pool_refuses_until_a_completion_is_delivered(void **state)
{
    (void)state;
    gate_reset();
    struct iopool *p = iopool_new(1, 2); /* room for 1 running + 2 waiting */
    assert_non_null(p);
    struct test_job t[4];
    for (int i = 0; i < 4; i++)
        test_job_init(&t[i], true);
    for (int i = 0; i < 3; i++)
        assert_int_equal(iopool_submit(p, &t[i].job), 0);
    assert_false(iopool_has_room(p));
    assert_int_equal(iopool_submit(p, &t[3].job), -EAGAIN);
    assert_int_equal(iopool_in_flight(p), 3);
    gate_open();
    /* Finished but not delivered still counts: room comes with deliver. */
    deliver_n(p, 3);
    assert_true(iopool_has_room(p));
    assert_int_equal(iopool_submit(p, &t[3].job), 0);
    deliver_n(p, 1);
    for (int i = 0; i < 4; i++)
        assert_int_equal(t[i].done, 1);
    iopool_free(p);
}

struct test_waiter {
    struct iopool_waiter waiter;
    struct iopool *pool;
    struct test_job job;
    int called;
    int order;
};

static int room_rank;

static void test_waiter_on_room(struct iopool_waiter *w)
{
    struct test_waiter *tw = (struct test_waiter *)w;
    tw->called++;
    tw->order = ++room_rank;
    assert_int_equal(iopool_submit(tw->pool, &tw->job.job), 0);
}

static void test_iopool_room_waiters_are_called_in_order_as_room_frees(void **state)
{
    (void)state;
    gate_reset();
    struct iopool *p = iopool_new(1, 0); /* one job at a time */
    assert_non_null(p);
    struct test_job first;
    test_job_init(&first, true);
    assert_int_equal(iopool_submit(p, &first.job), 0);
    struct test_waiter w[3];
    room_rank = 0;
    for (int i = 0; i < 3; i++) {
        w[i] = (struct test_waiter){ .waiter = { .on_room = test_waiter_on_room }, .pool = p };
        test_job_init(&w[i].job, false);
        iopool_wait_room(p, &w[i].waiter);
    }
    iopool_wait_room(p, &w[0].waiter); /* twice: still once in line */
    iopool_unwait_room(p, &w[1].waiter); /* gone: never called */
    gate_open();
    deliver_n(p, 1);
    /* One completion freed one slot: the first waiter took it. */
    assert_int_equal(w[0].called, 1);
    assert_int_equal(w[2].called, 0);
    deliver_n(p, 1);
    assert_int_equal(w[2].called, 1);
    assert_int_equal(w[2].order, 2);
    deliver_n(p, 1);
    assert_int_equal(w[1].called, 0);
    assert_int_equal(w[0].job.done, 1);
    assert_int_equal(w[2].job.done, 1);
    iopool_free(p);
}

static void test_iopool_free_finishes_the_jobs_in_flight(void **state)
{
    (void)state;
    struct iopool *p = iopool_new(2, 16);
    assert_non_null(p);
    struct test_job t[10];
    for (int i = 0; i < 10; i++) {
        test_job_init(&t[i], false);
        assert_int_equal(iopool_submit(p, &t[i].job), 0);
    }
    iopool_free(p); /* drains: every job ran and was delivered */
    for (int i = 0; i < 10; i++) {
        assert_int_equal(t[i].ran, 1);
        assert_int_equal(t[i].done, 1);
    }
}

static void test_iopool_new_without_threads_is_einval(void **state)
{
    (void)state;
    errno = 0;
    assert_null(iopool_new(0, 4));
    assert_int_equal(errno, EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_iopool_submit_runs_on_a_thread_and_completes_on_deliver),
        cmocka_unit_test(test_iopool_done_is_never_called_before_deliver),
        cmocka_unit_test(test_iopool_one_thread_completes_in_submit_order),
        cmocka_unit_test(test_iopool_cancel_still_runs_and_tells_done),
        cmocka_unit_test(test_iopool_full_pool_refuses_until_a_completion_is_delivered),
        cmocka_unit_test(test_iopool_room_waiters_are_called_in_order_as_room_frees),
        cmocka_unit_test(test_iopool_free_finishes_the_jobs_in_flight),
        cmocka_unit_test(test_iopool_new_without_threads_is_einval),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
