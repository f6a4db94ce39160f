/*
 * A main() for the fuzz targets without libFuzzer: feeds each file named
 * on the command line, or each file in each directory named (in name
 * order), to LLVMFuzzerTestOneInput once. This is how the normal build
 * (any compiler) replays the checked-in corpus and crash reproducers as
 * regression tests (meson test --suite fuzz); a broken invariant aborts.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <glib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

static void replay_file(const char *path, unsigned *count)
{
    g_autoptr(GError) err = NULL;
    g_autofree gchar *data = NULL;
    gsize len;

    if (!g_file_get_contents(path, &data, &len, &err)) {
        fprintf(stderr, "replay: %s\n", err->message);
        exit(1);
    }
    printf("replay: %s (%zu bytes)\n", path, (size_t)len);
    fflush(stdout);
    LLVMFuzzerTestOneInput((const uint8_t *)data, len);
    (*count)++;
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void replay_dir(const char *path, unsigned *count)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(GDir) dir = g_dir_open(path, 0, &err);
    g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
    const char *name;

    if (!dir) {
        fprintf(stderr, "replay: %s\n", err->message);
        exit(1);
    }
    while ((name = g_dir_read_name(dir))) {
        if (name[0] != '.' && strcmp(name, "README.md"))
            g_ptr_array_add(names, g_build_filename(path, name, NULL));
    }
    qsort(names->pdata, names->len, sizeof(char *), compare_names);
    for (guint i = 0; i < names->len; i++)
        replay_file(g_ptr_array_index(names, i), count);
}

int main(int argc, char **argv)
{
    unsigned count = 0;

    if (LLVMFuzzerInitialize)
        LLVMFuzzerInitialize(&argc, &argv);
    if (argc < 2) {
        fprintf(stderr, "usage: %s FILE|DIR...\n", argv[0]);
        return 2;
    }
    for (int i = 1; i < argc; i++) {
        if (g_file_test(argv[i], G_FILE_TEST_IS_DIR))
            replay_dir(argv[i], &count);
        else
            replay_file(argv[i], &count);
    }
    printf("replay: %u inputs, no invariant broken\n", count);
    return 0;
}
