/* test_map.c - the rewrite map: round trip, and hostile input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "map.h"

static void sample(struct rw_map *m, struct rw_map_stub *stubs, struct rw_map_site *sites)
{
    memset(m, 0, sizeof *m);
    stubs[0] = (struct rw_map_stub){0x401000, 48, "i4_b_s", "int32 (bool, string)", 2, RW_MAP_STUB_FRAME};
    stubs[1] = (struct rw_map_stub){0x401030, 9, "v_sgc", "void () suppress-gc", 1, RW_MAP_STUB_SGC};
    sites[0] = (struct rw_map_site){0x1234, NULL, 0, 1, 5, {0xe8, 1, 2, 3, 4}};
    sites[1] = (struct rw_map_site){0x2000, ".text", 1, 3, 6, {0xff, 0x15, 9, 8, 7, 6}};
    sites[2] = (struct rw_map_site){0x2100, ".text", 0, 2, 5, {0xe9, 0, 0, 0, 0}};
    m->machine = 1;
    m->flags = RW_MAP_F_OBJECT;
    m->stubs = stubs;
    m->nstubs = 2;
    m->sites = sites;
    m->nsites = 3;
}

static void test_round_trip(void **state)
{
    (void)state;
    struct rw_map m, back;
    struct rw_map_stub stubs[2];
    struct rw_map_site sites[3];
    struct rw_diag d = {0};
    uint8_t *buf;
    size_t len;
    sample(&m, stubs, sites);
    assert_int_equal(rw_map_encode(&m, &buf, &len, &d), RW_OK);
    assert_memory_equal(buf, RW_MAP_MAGIC, 8);
    assert_int_equal(rw_map_decode(buf, len, &back, &d), RW_OK);
    assert_int_equal(back.machine, 1);
    assert_int_equal(back.flags, RW_MAP_F_OBJECT);
    assert_int_equal(back.nstubs, 2);
    assert_int_equal(back.nsites, 3);
    assert_int_equal(back.stubs[1].address, 0x401030);
    assert_int_equal(back.stubs[1].size, 9);
    assert_string_equal(back.stubs[0].key, "i4_b_s");
    assert_string_equal(back.stubs[1].readable, "void () suppress-gc");
    assert_int_equal(back.stubs[0].nsites, 2);
    assert_int_equal(back.stubs[0].flags, RW_MAP_STUB_FRAME);
    assert_null(back.sites[0].section);
    assert_string_equal(back.sites[1].section, ".text");
    assert_int_equal(back.sites[1].form, 3);
    assert_int_equal(back.sites[1].length, 6);
    assert_memory_equal(back.sites[1].original, sites[1].original, 6);
    assert_int_equal(back.sites[2].address, 0x2100);
    rw_map_free(&back);

    /* deterministic: the same map encodes to the same bytes */
    uint8_t *again;
    size_t len2;
    assert_int_equal(rw_map_encode(&m, &again, &len2, &d), RW_OK);
    assert_int_equal(len, len2);
    assert_memory_equal(buf, again, len);
    free(again);
    free(buf);
}

static void test_inconsistent_encode(void **state)
{
    (void)state;
    struct rw_map m;
    struct rw_map_stub stubs[2];
    struct rw_map_site sites[3];
    struct rw_diag d = {0};
    uint8_t *buf = NULL;
    size_t len;
    sample(&m, stubs, sites);
    sites[2].stub = 7;
    assert_int_equal(rw_map_encode(&m, &buf, &len, &d), RW_E_INTERNAL);
    assert_null(buf);
}

/* Every strict prefix is rejected; every single-byte corruption either
 * decodes to something self-consistent or is rejected: never a crash
 * (this test runs under ASan/UBSan, on exact-size heap copies). */
static void test_hostile(void **state)
{
    (void)state;
    struct rw_map m, back;
    struct rw_map_stub stubs[2];
    struct rw_map_site sites[3];
    struct rw_diag d = {0};
    uint8_t *buf;
    size_t len;
    sample(&m, stubs, sites);
    assert_int_equal(rw_map_encode(&m, &buf, &len, &d), RW_OK);
    for (size_t n = 0; n < len; n++) {
        uint8_t *p = malloc(n ? n : 1);
        memcpy(p, buf, n);
        assert_int_not_equal(rw_map_decode(p, n, &back, &d), RW_OK);
        free(p);
    }
    size_t accepted = 0;
    for (size_t i = 0; i < len; i++) {
        for (int bit = 0; bit < 8; bit++) {
            uint8_t *p = malloc(len);
            memcpy(p, buf, len);
            p[i] ^= (uint8_t)(1u << bit);
            if (rw_map_decode(p, len, &back, &d) == RW_OK) {
                accepted++;
                for (size_t s = 0; s < back.nsites; s++)
                    assert_true(back.sites[s].stub < back.nstubs);
                for (size_t s = 0; s < back.nstubs; s++)
                    assert_true(strlen(back.stubs[s].key) < back.strtab_size);
                rw_map_free(&back);
            } else {
                assert_true(d.msg[0] != 0);
            }
            free(p);
        }
    }
    assert_true(accepted > 0); /* flips in addresses are still valid maps */
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_inconsistent_encode),
        cmocka_unit_test(test_hostile),
    };
    return cmocka_run_group_tests_name("map", tests, NULL, NULL);
}
