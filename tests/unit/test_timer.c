/* Unit tests for timer.c: the deadline min-heap behind every connection. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "timer.h"

#define NODES 512

static struct timer_node nodes[NODES];

static void reset(struct timer_heap *h, size_t n)
{
    timer_heap_init(h);
    assert_int_equal(timer_heap_reserve(h, n), 0);
    for (size_t i = 0; i < n; i++)
        timer_node_init(&nodes[i]);
}

static void test_timer_pop_expired_in_deadline_order(void **state)
{
    (void)state;
    struct timer_heap h;
    reset(&h, 8);
    static const uint64_t deadlines[] = { 50, 10, 40, 20, 30 };
    for (size_t i = 0; i < 5; i++)
        timer_arm(&h, &nodes[i], deadlines[i]);
    assert_null(timer_pop_expired(&h, 9));
    assert_ptr_equal(timer_peek(&h), &nodes[1]);
    uint64_t last = 0;
    for (int i = 0; i < 5; i++) {
        struct timer_node *n = timer_pop_expired(&h, 100);
        assert_non_null(n);
        assert_true(n->deadline_ms >= last);
        assert_false(timer_is_armed(n));
        last = n->deadline_ms;
    }
    assert_null(timer_pop_expired(&h, 100));
    timer_heap_fini(&h);
}

static void test_timer_arm_equal_deadlines_fire_in_arming_order(void **state)
{
    (void)state;
    struct timer_heap h;
    reset(&h, 16);
    for (size_t i = 0; i < 16; i++)
        timer_arm(&h, &nodes[i], 7);
    for (size_t i = 0; i < 16; i++)
        assert_ptr_equal(timer_pop_expired(&h, 7), &nodes[i]);
    timer_heap_fini(&h);
}

static void test_timer_arm_again_moves_the_node(void **state)
{
    (void)state;
    struct timer_heap h;
    reset(&h, 4);
    timer_arm(&h, &nodes[0], 10);
    timer_arm(&h, &nodes[1], 20);
    timer_arm(&h, &nodes[2], 30);
    timer_arm(&h, &nodes[0], 40); /* later */
    timer_arm(&h, &nodes[2], 5);  /* earlier */
    assert_int_equal(h.len, 3);
    assert_ptr_equal(timer_pop_expired(&h, 100), &nodes[2]);
    assert_ptr_equal(timer_pop_expired(&h, 100), &nodes[1]);
    assert_ptr_equal(timer_pop_expired(&h, 100), &nodes[0]);
    timer_heap_fini(&h);
}

static void test_timer_disarm_any_position(void **state)
{
    (void)state;
    struct timer_heap h;
    reset(&h, 10);
    for (size_t i = 0; i < 10; i++)
        timer_arm(&h, &nodes[i], 100 - i * 10);
    timer_disarm(&h, &nodes[9]); /* the earliest */
    timer_disarm(&h, &nodes[0]); /* the latest */
    timer_disarm(&h, &nodes[4]); /* the middle */
    timer_disarm(&h, &nodes[4]); /* twice is harmless */
    assert_int_equal(h.len, 7);
    uint64_t last = 0;
    struct timer_node *n;
    while ((n = timer_pop_expired(&h, 1000)) != NULL) {
        assert_true(n != &nodes[0] && n != &nodes[4] && n != &nodes[9]);
        assert_true(n->deadline_ms >= last);
        last = n->deadline_ms;
    }
    timer_heap_fini(&h);
}

static void test_timer_heap_fini_disarms_nodes(void **state)
{
    (void)state;
    struct timer_heap h;
    reset(&h, 3);
    timer_arm(&h, &nodes[0], 1);
    timer_arm(&h, &nodes[1], 2);
    timer_heap_fini(&h);
    assert_false(timer_is_armed(&nodes[0]));
    assert_false(timer_is_armed(&nodes[1]));
}

/* Random arms, re-arms, disarms and pops against a plain array model. */
static void test_timer_random_operations_match_a_model(void **state)
{
    (void)state;
    struct timer_heap h;
    reset(&h, NODES);
    uint64_t model[NODES]; /* UINT64_MAX: not armed */
    for (size_t i = 0; i < NODES; i++)
        model[i] = UINT64_MAX;
    srand(12345);
    uint64_t now = 0;
    for (int step = 0; step < 200000; step++) {
        size_t i = (size_t)rand() % NODES;
        int op = rand() % 4;
        if (op < 2) {
            uint64_t d = now + (uint64_t)(rand() % 1000);
            timer_arm(&h, &nodes[i], d);
            model[i] = d;
        } else if (op == 2) {
            timer_disarm(&h, &nodes[i]);
            model[i] = UINT64_MAX;
        } else {
            now += (uint64_t)(rand() % 50);
            struct timer_node *n;
            while ((n = timer_pop_expired(&h, now)) != NULL) {
                size_t k = (size_t)(n - nodes);
                assert_true(model[k] <= now);
                assert_int_equal(model[k], n->deadline_ms);
                model[k] = UINT64_MAX;
            }
            for (size_t k = 0; k < NODES; k++)
                assert_true(model[k] == UINT64_MAX || model[k] > now);
        }
        size_t armed = 0;
        for (size_t k = 0; k < NODES; k++)
            armed += model[k] != UINT64_MAX;
        assert_int_equal(h.len, armed);
    }
    timer_heap_fini(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_timer_pop_expired_in_deadline_order),
        cmocka_unit_test(test_timer_arm_equal_deadlines_fire_in_arming_order),
        cmocka_unit_test(test_timer_arm_again_moves_the_node),
        cmocka_unit_test(test_timer_disarm_any_position),
        cmocka_unit_test(test_timer_heap_fini_disarms_nodes),
        cmocka_unit_test(test_timer_random_operations_match_a_model),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
