/* test_files.h - a private temporary folder for C tests that write files (header only).
 *
 *   int main(void) { if (tmpdir_create("png") != 0) return 1; ...; tmpdir_remove(); return test_summary(); }
 *   write_bytes(tmp_path("a.png"), bytes, n);
 */
#ifndef SL_TEST_FILES_H
#define SL_TEST_FILES_H

#include <stdio.h>
#include <stdlib.h>

static char tmpdir[64];

/* "<tmpdir>/<name>"; eight rotating buffers, so a few paths can be live at once. */
static const char *tmp_path(const char *name)
{
    static char buf[8][256];
    static int k;
    k = (k + 1) % 8;
    snprintf(buf[k], sizeof buf[k], "%s/%s", tmpdir, name);
    return buf[k];
}

static void write_bytes(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f) return;
    fwrite(data, 1, n, f);
    fclose(f);
}

/* mkdtemp /tmp/sslab_<tag>_XXXXXX; 0 on success. */
static int tmpdir_create(const char *tag)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/sslab_%s_XXXXXX", tag);
    return mkdtemp(tmpdir) ? 0 : 1;
}

static void tmpdir_remove(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmpdir);
}

#endif
