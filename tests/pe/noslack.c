/* noslack.c - the EXE of main.c with eight more sections: their headers
 * fill the slack after the section table (GNU ld leaves 384 bytes before
 * the first section here; eight headers take 320), so callirw has no room
 * for its four (160 bytes) and must refuse (make check-pe-write checks the
 * slack with write_props.py free before relying on it). */
int site_imp(void);
int site_thunk(void);

#define SEC(n) __attribute__((section(".ns" #n), used)) static const int ns##n = n;
SEC(1)
SEC(2)
SEC(3)
SEC(4)
SEC(5)
SEC(6)
SEC(7)
SEC(8)

int main(int argc, char **argv)
{
    (void)argv;
    return argc > 100 ? site_imp() + site_thunk() : 0;
}
