/* replay_main.c - a main for the harnesses without libFuzzer (make check's
 * check-fuzz-regress, built with gcc and ASan/UBSan; the coverage build of
 * make fuzz): every file given on the command line, and every file of a
 * directory given (sorted by name), is read and passed to
 * LLVMFuzzerTestOneInput once, in a heap block of exactly its size. A
 * crash, a sanitizer report or a broken invariant (abort) fails the run,
 * and so does an input that runs longer than REPLAY_TIMEOUT seconds
 * (default 3; 0: none): a hang, as libFuzzer's -timeout reports it (every
 * input here takes milliseconds). */
#include <dirent.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *current;

static void on_alarm(int sig)
{
    (void)sig;
    static const char msg[] = "replay: an input ran longer than REPLAY_TIMEOUT (a hang): ";
    if (write(2, msg, sizeof msg - 1) < 0 || write(2, current, strlen(current)) < 0 ||
        write(2, "\n", 1) < 0)
        _exit(1);
    _exit(1);
}

static unsigned timeout_s = 3;

static int one(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f || fseek(f, 0, SEEK_END)) {
        fprintf(stderr, "replay: %s: cannot read\n", path);
        exit(2);
    }
    long n = ftell(f);
    rewind(f);
    uint8_t *buf = malloc(n > 0 ? (size_t)n : 1);
    if (n < 0 || !buf || fread(buf, 1, (size_t)n, f) != (size_t)n) {
        fprintf(stderr, "replay: %s: cannot read\n", path);
        exit(2);
    }
    fclose(f);
    current = path;
    alarm(timeout_s);
    LLVMFuzzerTestOneInput(buf, (size_t)n);
    alarm(0);
    free(buf);
    return 1;
}

int main(int argc, char **argv)
{
    long count = 0;
    const char *t = getenv("REPLAY_TIMEOUT");
    if (t)
        timeout_s = (unsigned)strtoul(t, NULL, 10);
    signal(SIGALRM, on_alarm);
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode)) {
            struct dirent **ents;
            int n = scandir(argv[i], &ents, NULL, alphasort);
            if (n < 0) {
                fprintf(stderr, "replay: %s: cannot list\n", argv[i]);
                return 2;
            }
            for (int k = 0; k < n; k++) {
                char p[4096];
                snprintf(p, sizeof p, "%s/%s", argv[i], ents[k]->d_name);
                if (ents[k]->d_name[0] != '.' && stat(p, &st) == 0 && S_ISREG(st.st_mode))
                    count += one(p);
                free(ents[k]);
            }
            free(ents);
        } else {
            count += one(argv[i]);
        }
    }
    printf("replay: %ld input%s, no finding\n", count, count == 1 ? "" : "s");
    return 0;
}
