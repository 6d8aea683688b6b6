/* delayload_stub.c - stands in for MSVC's delayimp.lib in sites-delay.dll
 * (linked with lld-link /delayload:helper.dll): the tests only read the
 * file, so the stub never runs. */
void *__delayLoadHelper2(const void *descriptor, void **slot)
{
    (void)descriptor;
    return *slot;
}
