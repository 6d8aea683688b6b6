/* main.c - the EXE around sites.S: imports GenericPInvokeCalliHelper from
 * helper.dll (never called at run time here; the tests only read the file). */
int site_imp(void);
int site_thunk(void);

int main(int argc, char **argv)
{
    (void)argv;
    return argc > 100 ? site_imp() + site_thunk() : 0;
}
