/* helper_dll.c - stands in for the runtime DLL that exports the generic
 * helper (only its name matters to these tests): built as helper.dll with
 * the import library libhelper.dll.a. */
__declspec(dllexport) int GenericPInvokeCalliHelper(void)
{
    return -1;
}
