/* libsystem.S - the fake libSystem an importing image links against (lazy
 * binding names dyld_stub_binder, without an underscore). */
    .text
    .globl dyld_stub_binder
dyld_stub_binder:
#if defined(__x86_64__)
    ret
#else
    ret
#endif
