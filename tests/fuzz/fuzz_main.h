/* fuzz_main.h - a main() for the libFuzzer targets when built without
 * libFuzzer (-DSL_FUZZ_MAIN, e.g. with gcc or under valgrind): it runs each
 * file named on the command line once, to replay a crash or a corpus.
 * Include it at the end of a fuzz_*.c file. */
#ifdef SL_FUZZ_MAIN
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        FILE *f = fopen(argv[i], "rb");
        if (!f) {
            perror(argv[i]);
            return 1;
        }
        fseek(f, 0, SEEK_END);
        long n = ftell(f);
        fseek(f, 0, SEEK_SET);
        uint8_t *buf = malloc(n > 0 ? (size_t)n : 1);
        size_t got = fread(buf, 1, (size_t)(n > 0 ? n : 0), f);
        fclose(f);
        LLVMFuzzerTestOneInput(buf, got);
        free(buf);
        printf("%s: ok\n", argv[i]);
    }
    return 0;
}
#endif
