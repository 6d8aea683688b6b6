/* host_posix_abort.c - the default calli_host_abort for POSIX hosts. */
#include <stdlib.h>

#include "calli_host.h"

_Noreturn void calli_host_abort(void)
{
    abort();
}
