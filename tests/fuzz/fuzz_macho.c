/* fuzz_macho.c - libFuzzer harness: the Mach-O reader, thin and fat
 * (formats/macho*.c; rw_container_probe / split, every slice opened from
 * memory and scanned with the decoder forced on, its map read). */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const struct rw_container_ops *co = rw_container_probe(data, size);
    if (!co) {
        if (rw_macho_ops.probe(data, size))
            fuzz_image(data, size);
        return 0;
    }
    struct rw_slice *sl = NULL;
    size_t n = 0;
    struct rw_diag d = {0};
    if (co->split(data, size, &sl, &n, &d) != RW_OK)
        return 0;
    for (size_t i = 0; i < n; i++) {
        FUZZ_CHECK(sl[i].offset <= size && sl[i].size <= size - sl[i].offset,
                   "slice %zu [%llu, +%llu) outside %zu bytes", i,
                   (unsigned long long)sl[i].offset, (unsigned long long)sl[i].size, size);
        for (size_t j = 0; j < i; j++)
            FUZZ_CHECK(sl[j].offset + sl[j].size <= sl[i].offset ||
                           sl[i].offset + sl[i].size <= sl[j].offset || !sl[i].size || !sl[j].size,
                       "slices %zu and %zu overlap", j, i);
        /* a copy of exactly the slice's bytes: ASan sees a read past its end */
        uint8_t *copy = malloc(sl[i].size ? sl[i].size : 1);
        if (!copy)
            abort();
        memcpy(copy, data + sl[i].offset, sl[i].size);
        fuzz_image(copy, sl[i].size);
        free(copy);
    }
    free(sl);
    return 0;
}
