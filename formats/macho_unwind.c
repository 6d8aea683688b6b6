/* macho_unwind.c - rebuilding __TEXT,__unwind_info. (Skeleton.) */
#include "macho_priv.h"

enum rw_err macho_unwind_rebuild(const uint8_t *old, size_t old_size,
                                 const struct macho_unwind_add *adds, size_t nadd, uint32_t end,
                                 struct rw_buf *out, struct rw_diag *d)
{
    (void)old;
    (void)old_size;
    (void)adds;
    (void)nadd;
    (void)end;
    (void)out;
    return rw_fail(d, RW_E_UNSUPPORTED, "rebuilding __unwind_info is not supported yet");
}
