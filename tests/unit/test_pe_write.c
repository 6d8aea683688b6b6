/* test_pe_write.c - the pure pieces of the PE image writer
 * (formats/pe_write.c): the PE checksum, the exception-table check and
 * merge, and the header-room decision (in place, or by moving the file). The writer as a whole is proven by make check-pe-write. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "buf.h"
#include "image.h"

/* formats/pe_write.c exports these for this test (not in pe_write.h). */
uint32_t pe_write_checksum(const uint8_t *p, size_t n, size_t csum_off);
size_t pe_write_pdata_check(const uint8_t *t, size_t n);
enum rw_err pe_write_pdata_merge(const uint8_t *old, size_t nold, uint8_t *add, size_t nadd,
                                 struct rw_buf *out, struct rw_diag *d);
int pe_write_room(uint64_t sh_end, uint64_t need, uint64_t soh, uint64_t raw_first,
                  uint64_t va_first, uint32_t fa, uint64_t zrun, uint64_t dir_at,
                  uint32_t *new_soh, uint32_t *delta);
enum { ROOM_OK, ROOM_BYTES, ROOM_ADDR }; /* pe_write_room's results */

static void test_checksum_vectors(void **state)
{
    (void)state;
    const uint8_t a[] = {0x01, 0x02};
    assert_int_equal(pe_write_checksum(a, 0, 100), 0);
    assert_int_equal(pe_write_checksum(a, 2, 100), 0x0201 + 2);
    const uint8_t b[] = {0xFF, 0xFF, 0x01, 0x00}; /* 0xFFFF + 1 carries around: 1 */
    assert_int_equal(pe_write_checksum(b, 4, 100), 1 + 4);
    const uint8_t c[] = {0x01, 0x02, 0x03}; /* odd length: last byte padded */
    assert_int_equal(pe_write_checksum(c, 3, 100), 0x0201 + 0x0003 + 3);
    /* the CheckSum field counts as zero */
    uint8_t e[12] = {1, 0, 2, 0, 0xAA, 0xBB, 0xCC, 0xDD, 3, 0, 4, 0};
    uint8_t z[12] = {1, 0, 2, 0, 0, 0, 0, 0, 3, 0, 4, 0};
    assert_int_equal(pe_write_checksum(e, 12, 4), pe_write_checksum(z, 12, 100));
    assert_int_equal(pe_write_checksum(e, 12, 4), 1 + 2 + 3 + 4 + 12);
    /* an odd field offset: bytes 3..6 count as 0 */
    uint8_t o[8] = {1, 2, 3, 0xAA, 0xBB, 0xCC, 0xDD, 4};
    assert_int_equal(pe_write_checksum(o, 8, 3), 0x0201 + 0x0003 + 0x0400 + 8);
    /* many carries */
    uint8_t *big = malloc(1 << 20);
    assert_non_null(big);
    memset(big, 0xFF, 1 << 20);
    assert_int_equal(pe_write_checksum(big, 1 << 20, 1 << 21), 0xFFFF + (1 << 20));
    free(big);
}

/* GNU ld writes a correct CheckSum: the linker's value is our reference. */
static void test_checksum_linker(void **state)
{
    (void)state;
    const char *dir = getenv("PE_TEST_DIR");
    char path[512];
    snprintf(path, sizeof path, "%s/main.exe", dir ? dir : "build/tests/pe");
    FILE *f = fopen(path, "rb");
    if (!f)
        skip();
    static uint8_t buf[4 << 20];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    assert_true(n > 0x200 && n < sizeof buf);
    uint32_t pe = buf[0x3C] | buf[0x3D] << 8;
    size_t off = pe + 24 + 64;
    uint32_t want = buf[off] | buf[off + 1] << 8 | buf[off + 2] << 16 | (uint32_t)buf[off + 3] << 24;
    assert_true(want != 0);
    assert_int_equal(pe_write_checksum(buf, n, off), want);
}

static void rf(uint8_t *p, uint32_t b, uint32_t e, uint32_t u)
{
    uint32_t v[3] = {b, e, u};
    for (int i = 0; i < 3; i++)
        for (int k = 0; k < 4; k++)
            p[4 * i + k] = (uint8_t)(v[i] >> 8 * k);
}

static void test_pdata_check(void **state)
{
    (void)state;
    uint8_t t[4 * 12];
    rf(t, 0x1000, 0x1010, 0x5000);
    rf(t + 12, 0x1010, 0x1020, 0x5008); /* adjacent: fine */
    rf(t + 24, 0x1030, 0x1030, 0x5010); /* empty: fine */
    rf(t + 36, 0x1040, 0x1050, 0x5018);
    assert_int_equal(pe_write_pdata_check(t, 4), 4);
    assert_int_equal(pe_write_pdata_check(t, 0), 0);
    rf(t + 36, 0x1020, 0x1050, 0x5018); /* overlaps entry 2? no: begins before its end */
    assert_int_equal(pe_write_pdata_check(t, 4), 3);
    rf(t + 36, 0x1040, 0x103F, 0x5018); /* begin > end */
    assert_int_equal(pe_write_pdata_check(t, 4), 3);
    rf(t + 12, 0x0800, 0x0900, 0x5008); /* not sorted */
    assert_int_equal(pe_write_pdata_check(t, 4), 1);
    rf(t + 12, 0x100F, 0x1020, 0x5008); /* overlaps the one before */
    assert_int_equal(pe_write_pdata_check(t, 2), 1);
}

static void test_pdata_merge(void **state)
{
    (void)state;
    uint8_t old[2 * 12], add[3 * 12];
    rf(old, 0x1000, 0x1100, 0x5000);
    rf(old + 12, 0x1100, 0x1200, 0x5008);
    rf(add, 0x9040, 0x9080, 0xA008); /* unsorted: the merge sorts them */
    rf(add + 12, 0x900C, 0x9030, 0xA000);
    rf(add + 24, 0x9090, 0x90A0, 0xA010);
    struct rw_buf out = {0};
    struct rw_diag d = {0};
    assert_int_equal(pe_write_pdata_merge(old, 2, add, 3, &out, &d), RW_OK);
    assert_int_equal(out.len, 5 * 12);
    assert_memory_equal(out.data, old, sizeof old); /* byte for byte, at their indices */
    assert_int_equal(pe_write_pdata_check(out.data, 5), 5);
    assert_int_equal(out.data[24] | out.data[25] << 8, 0x900C);
    rw_buf_free(&out);

    /* no old table; no stubs */
    assert_int_equal(pe_write_pdata_merge(NULL, 0, add, 3, &out, &d), RW_OK);
    assert_int_equal(out.len, 36);
    rw_buf_free(&out);
    assert_int_equal(pe_write_pdata_merge(old, 2, NULL, 0, &out, &d), RW_OK);
    assert_int_equal(out.len, 24);
    rw_buf_free(&out);

    /* a stub entry below the image's functions, or overlapping stubs: a bug */
    rf(add, 0x1150, 0x1160, 0xA000);
    assert_int_equal(pe_write_pdata_merge(old, 2, add, 3, &out, &d), RW_E_INTERNAL);
    rw_buf_free(&out);
    rf(add, 0x9000, 0x9050, 0xA000);
    rf(add + 12, 0x9040, 0x9060, 0xA000);
    assert_int_equal(pe_write_pdata_merge(old, 2, add, 2, &out, &d), RW_E_INTERNAL);
    rw_buf_free(&out);
}

static void test_room(void **state)
{
    (void)state;
    uint32_t soh = 0, dl = 0;
    const uint64_t none = UINT64_MAX;
    /* GNU ld: 384 bytes free, SizeOfHeaders grows in place, nothing moves */
    assert_int_equal(pe_write_room(0x280, 160, 0x400, 0x400, 0x1000, 0x200, 160, none, &soh, &dl),
                     ROOM_OK);
    assert_int_equal(soh, 0x400);
    assert_int_equal(dl, 0);
    assert_int_equal(pe_write_room(0x380, 160, 0x400, 0x600, 0x1000, 0x200, 160, none, &soh, &dl),
                     ROOM_OK);
    assert_int_equal(soh, 0x600); /* grown (aligned) into the zero bytes before the raw data */
    assert_int_equal(dl, 0);
    /* lld with DWARF: the table ends at SizeOfHeaders = the raw data; RVA 0x1000 */
    assert_int_equal(pe_write_room(0x400, 160, 0x400, 0x400, 0x1000, 0x200, 0, none, &soh, &dl),
                     ROOM_OK);
    assert_int_equal(soh, 0x600);
    assert_int_equal(dl, 0x200);
    /* 64 bytes free (zero), then the raw data: moved by the smallest multiple */
    assert_int_equal(pe_write_room(0x5C0, 160, 0x600, 0x600, 0x1000, 0x200, 64, none, &soh, &dl),
                     ROOM_OK);
    assert_int_equal(soh, 0x800);
    assert_int_equal(dl, 0x200);
    /* FileAlignment 0x1000: one page */
    assert_int_equal(pe_write_room(0x3F0, 160, 0x400, 0x1000, 0x2000, 0x1000, 0, none, &soh, &dl),
                     ROOM_BYTES); /* the header bytes 0x3F0..0x400 are not zero */
    assert_int_equal(pe_write_room(0x3F0, 160, 0x400, 0x400, 0x2000, 0x1000, 16, none, &soh, &dl),
                     ROOM_OK);
    assert_int_equal(soh, 0x1000);
    assert_int_equal(dl, 0x1000);
    /* SizeOfHeaders not aligned: the shift still a multiple of FileAlignment */
    assert_int_equal(pe_write_room(0x400, 160, 0x410, 0x410, 0x1000, 0x200, 16, none, &soh, &dl),
                     ROOM_OK);
    assert_int_equal(soh, 0x600);
    assert_int_equal(dl, 0x200);
    /* no address room: the new table would pass the first RVA, or the aligned headers would */
    assert_int_equal(pe_write_room(0x5C0, 160, 0x600, 0x600, 0x600, 0x200, 64, none, &soh, &dl),
                     ROOM_ADDR);
    assert_int_equal(pe_write_room(0x400, 160, 0x400, 0x400, 0x4A0, 0x200, 0, none, &soh, &dl),
                     ROOM_ADDR); /* 0x4A0 fits, 0x600 does not */
    assert_int_equal(pe_write_room(0x400, 160, 0x400, 0x400, 0x600, 0x200, 0, none, &soh, &dl),
                     ROOM_OK);
    /* a non-zero header byte, or a directory, in the way: moving does not help */
    assert_int_equal(pe_write_room(0x5C0, 160, 0x600, 0x600, 0x1000, 0x200, 10, none, &soh, &dl),
                     ROOM_BYTES);
    assert_int_equal(pe_write_room(0x400, 160, 0x400, 0x400, 0x1000, 0x200, 0, 0x400, &soh, &dl),
                     ROOM_BYTES);
    assert_int_equal(pe_write_room(0x400, 160, 0x400, 0x400, 0x1000, 0x200, 0, 0x49F, &soh, &dl),
                     ROOM_BYTES);
    assert_int_equal(pe_write_room(0x400, 160, 0x400, 0x400, 0x1000, 0x200, 0, 0x4A0, &soh, &dl),
                     ROOM_OK);
    /* SizeOfHeaders already covers the room but its bytes are not zero */
    assert_int_equal(pe_write_room(0x300, 160, 0x400, 0x400, 0x1000, 0x200, 20, none, &soh, &dl),
                     ROOM_BYTES);
    /* inconsistent inputs (geometry refuses them first) */
    assert_int_equal(pe_write_room(0x400, 160, 0x300, 0x400, 0x1000, 0x200, 0, none, &soh, &dl),
                     ROOM_BYTES);
    assert_int_equal(pe_write_room(0x400, 160, 0x800, 0x400, 0x1000, 0x200, 0, none, &soh, &dl),
                     ROOM_BYTES);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_checksum_vectors),
        cmocka_unit_test(test_checksum_linker),
        cmocka_unit_test(test_pdata_check),
        cmocka_unit_test(test_pdata_merge),
        cmocka_unit_test(test_room),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
