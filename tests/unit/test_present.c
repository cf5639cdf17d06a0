/* SPDX-License-Identifier: MIT */
/*
 * test_present: the pieces of Presentation 3 below the handler. The
 * sidecar schema (every field in each form it may take, and the one-line
 * reason of each refusal), the tree (what a folder lists, in which order,
 * and what it leaves out), identifiers as URIs, rights, and the JSON the
 * renderer writes (@context first, language maps of arrays, the
 * ImageService2 in its own vocabulary).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include <errno.h>
#include <grp.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "conftest.h"
#include "fixture.h"
#include "present/manifest.h"
#include "present/sidecar.h"
#include "present/tree.h"
#include "source/source.h"

static vl_pool_t *
new_pool(void)
{
    vl_pool_t *p = vl_pool_create(4096);

    assert_non_null(p);
    return p;
}

static void
assert_lang(const vl_langmap_t *m, size_t i, const char *lang,
            const char *value)
{
    assert_true(i < m->n);
    assert_string_equal(m->v[i].lang, lang);
    assert_int_equal(m->v[i].nvalues, 1);
    assert_string_equal(m->v[i].values[0], value);
}

/* ------------------------------------------------------------ sidecars */

static void
test_sidecar_full(void **state)
{
    static const char text[] =
        "{\"label\": {\"en\": [\"World map\"], \"nl\": \"Wereldkaart\"},\n"
        " \"summary\": \"A map\",\n"
        " \"metadata\": [{\"label\": \"Author\", \"value\": "
        "{\"en\": [\"A\", \"B\"]}}],\n"
        " \"rights\": \"https://creativecommons.org/licenses/by/4.0/\",\n"
        " \"requiredStatement\": {\"label\": \"Attribution\", "
        "\"value\": \"The Library\"},\n"
        " \"provider\": {\"label\": \"The Library\", "
        "\"homepage\": \"https://lib.example.org/\"},\n"
        " \"homepage\": \"https://lib.example.org/map\",\n"
        " \"seeAlso\": [{\"id\": \"https://lib.example.org/map.xml\", "
        "\"format\": \"application/xml\", \"profile\": \"https://p/\", "
        "\"label\": \"MARC\"}],\n"
        " \"behavior\": [\"paged\", \"no-auto-advance\"],\n"
        " \"navDate\": \"1689-01-01T12:00:00.5+01:00\",\n"
        " \"viewingDirection\": \"right-to-left\",\n"
        " \"canvases\": [\"front\", {\"label\": {\"en\": [\"back\"]}}],\n"
        " \"items\": [\"p1.tif\", \"p2.tif\"]}\n";
    vl_pool_t   *p = new_pool();
    vl_sidecar_t sc;
    vl_err_t     err = { 0 };

    (void) state;
    assert_int_equal(vl_sidecar_parse(p, text, strlen(text), 1, &sc, &err),
                     VL_OK);
    assert_int_equal(sc.label.n, 2);
    assert_lang(&sc.label, 0, "en", "World map");
    assert_lang(&sc.label, 1, "nl", "Wereldkaart");
    assert_lang(&sc.summary, 0, "none", "A map");
    assert_int_equal(sc.nmetadata, 1);
    assert_lang(&sc.metadata[0].label, 0, "none", "Author");
    assert_int_equal(sc.metadata[0].value.v[0].nvalues, 2);
    assert_string_equal(sc.metadata[0].value.v[0].values[1], "B");
    assert_string_equal(sc.rights,
                        "https://creativecommons.org/licenses/by/4.0/");
    assert_true(sc.has_required);
    assert_lang(&sc.required.label, 0, "none", "Attribution");
    assert_lang(&sc.required.value, 0, "none", "The Library");
    assert_lang(&sc.provider_label, 0, "none", "The Library");
    assert_string_equal(sc.provider_homepage, "https://lib.example.org/");
    assert_int_equal(sc.nhomepage, 1);
    assert_string_equal(sc.homepage[0].id, "https://lib.example.org/map");
    assert_string_equal(sc.homepage[0].type, "Text");
    assert_int_equal(sc.nsee_also, 1);
    assert_string_equal(sc.see_also[0].type, "Dataset");
    assert_string_equal(sc.see_also[0].format, "application/xml");
    assert_string_equal(sc.see_also[0].profile, "https://p/");
    assert_lang(&sc.see_also[0].label, 0, "none", "MARC");
    assert_int_equal(sc.nbehavior, 2);
    assert_string_equal(sc.behavior[1], "no-auto-advance");
    assert_string_equal(sc.nav_date, "1689-01-01T12:00:00.5+01:00");
    assert_string_equal(sc.viewing_direction, "right-to-left");
    assert_int_equal(sc.ncanvas_labels, 2);
    assert_lang(&sc.canvas_labels[0], 0, "none", "front");
    assert_lang(&sc.canvas_labels[1], 0, "en", "back");
    assert_int_equal(sc.nitems, 2);
    assert_string_equal(sc.items[1], "p2.tif");
    vl_pool_destroy(p);
}

/* metadata may be written as an object of label: value, in its order */
static void
test_sidecar_short_metadata(void **state)
{
    static const char text[] = "{\"metadata\": {\"Title\": \"T\", "
                               "\"Date\": {\"en\": \"1689\"}}}";
    vl_pool_t   *p = new_pool();
    vl_sidecar_t sc;
    vl_err_t     err = { 0 };

    (void) state;
    assert_int_equal(vl_sidecar_parse(p, text, strlen(text), 1, &sc, &err),
                     VL_OK);
    assert_int_equal(sc.nmetadata, 2);
    assert_lang(&sc.metadata[0].label, 0, "none", "Title");
    assert_lang(&sc.metadata[0].value, 0, "none", "T");
    assert_lang(&sc.metadata[1].label, 0, "none", "Date");
    assert_lang(&sc.metadata[1].value, 0, "en", "1689");
    vl_pool_destroy(p);
}

/* Each refusal: the whole sidecar, with the field and why. */
static void
test_sidecar_refused(void **state)
{
    static const struct {
        const char *text, *why;
        int         folder;
    } cases[] = {
        { "{\"colour\": \"blue\"}",
          "colour: is not a field of a vellum sidecar", 0 },
        { "{\"label\": 3}", "label: is not a string or a language map", 0 },
        { "{\"label\": \"\"}", "label: is empty", 0 },
        { "{\"label\": {}}", "label: is not a string or a language map", 0 },
        { "{\"label\": {\"en\": []}}", "label: is an empty array", 0 },
        { "{\"label\": {\"en\": [1]}}",
          "label: holds something that is not a string", 0 },
        { "{\"label\": {\"not a tag!\": \"x\"}}",
          "label: has a key that is not a language tag", 0 },
        { "{\"metadata\": \"Author: A\"}",
          "metadata: is not an array of label/value pairs", 0 },
        { "{\"metadata\": {\"Author\": 1}}",
          "metadata.Author: is not a string or a language map", 0 },
        { "{\"metadata\": [{\"label\": \"a\"}]}",
          "metadata[0]: must hold exactly label and value", 0 },
        { "{\"metadata\": [{\"label\": \"a\", \"value\": 1}]}",
          "metadata[0].value: is not a string or a language map", 0 },
        { "{\"rights\": \"ftp://x/\"}", "rights: is not an http(s) URI", 0 },
        { "{\"rights\": \"https://x/ y\"}", "rights: is not an http(s) URI", 0 },
        { "{\"homepage\": \"javascript:alert(1)\"}",
          "homepage: is not an http(s) URI", 0 },
        { "{\"seeAlso\": [{\"format\": \"text/xml\"}]}",
          "seeAlso[0]: has no http(s) id", 0 },
        { "{\"seeAlso\": [{\"id\": \"https://x/\", \"type\": 3}]}",
          "seeAlso[0]: has a field that is not a string", 0 },
        { "{\"seeAlso\": [{\"id\": \"https://x/\", \"kind\": \"x\"}]}",
          "seeAlso[0]: has an unknown field", 0 },
        { "{\"behavior\": [\"flying\"]}",
          "behavior: holds an unknown behavior", 0 },
        { "{\"behavior\": [\"paged\", \"continuous\"]}",
          "behavior: 'paged' and 'continuous' exclude each other", 0 },
        { "{\"behavior\": \"together\"}",
          "behavior: 'together' is not a behavior of a Manifest", 0 },
        { "{\"behavior\": \"together\", \"items\": [\"a.tif\"]}",
          "behavior: 'together' is not a behavior of a Manifest", 1 },
        { "{\"behavior\": \"facing-pages\"}",
          "behavior: 'facing-pages' is not a behavior of a Collection", 1 },
        { "{\"behavior\": \"hidden\"}",
          "behavior: 'hidden' is not a behavior of a Manifest", 0 },
        { "{\"items\": [\"a.tif\"]}",
          "items: lists files only in a folder's sidecar", 0 },
        { "{\"canvases\": [\"front\"]}",
          "canvases: labels canvases only in the sidecar of an image or of "
          "a folder with items", 1 },
        { "{\"navDate\": \"1689\"}",
          "navDate: is not an xsd:dateTime with a time zone "
          "(1689-01-01T00:00:00Z)", 0 },
        { "{\"navDate\": \"1689-01-01T00:00:00\"}",
          "navDate: is not an xsd:dateTime with a time zone "
          "(1689-01-01T00:00:00Z)", 0 },
        { "{\"viewingDirection\": \"up\"}",
          "viewingDirection: is not left-to-right, right-to-left, "
          "top-to-bottom or bottom-to-top", 0 },
        { "{\"canvases\": \"front\"}", "canvases: is not an array of labels", 0 },
        { "{\"items\": [\"../secret.tif\"]}",
          "items: holds a name that is not a file of the folder", 0 },
        { "{\"items\": [\".hidden.tif\"]}",
          "items: holds a name that is not a file of the folder", 0 },
        { "{\"items\": [\"\"]}",
          "items: holds a name that is not a file of the folder", 0 },
        { "[1, 2]", "is not a JSON object", 0 },
        { "{\"label\": \"a\", \"label\": \"b\"}", NULL, 0 },
        { "{\"label\": ", NULL, 0 },
    };

    (void) state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        vl_pool_t   *p = new_pool();
        vl_sidecar_t sc;
        vl_err_t     err = { 0 };
        int          rc;

        rc = vl_sidecar_parse(p, cases[i].text, strlen(cases[i].text),
                              cases[i].folder, &sc, &err);
        if (rc != VL_EFORMAT) {
            fail_msg("%s: rc %d, want VL_EFORMAT", cases[i].text, rc);
        }
        if (cases[i].why != NULL && strcmp(err.msg, cases[i].why) != 0) {
            fail_msg("%s: '%s', want '%s'", cases[i].text, err.msg,
                     cases[i].why);
        }
        if (cases[i].why == NULL && strncmp(err.msg, "line ", 5) != 0) {
            fail_msg("%s: '%s', want the line of the JSON error",
                     cases[i].text, err.msg);
        }
        /* nothing of a refused sidecar is used */
        assert_int_equal(sc.label.n, 0);
        assert_null(sc.rights);
        assert_int_equal(sc.nitems, 0);
        assert_null(strchr(err.msg, '\n'));
        vl_pool_destroy(p);
    }
}

/* ---------------------------------------------------------------- tree */

static char root[4096];

static void
put(const char *rel, const char *fixture)
{
    char path[4300];

    snprintf(path, sizeof(path), "%s/%s", root, rel);
    if (fixture != NULL) {
        assert_int_equal(vl_fx_copy(vl_fx_path(fixture), path), 0);
    } else {
        assert_int_equal(mkdir(path, 0755), 0);
    }
}

static int
tree_setup(void **state)
{
    char path[4300];

    (void) state;
    snprintf(root, sizeof(root), "%s/present-XXXXXX",
             getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp");
    if (mkdtemp(root) == NULL) {
        return -1;
    }
    /* root/top/{b.tif, a.tif, a.tif.json, sub/, book/, book.json,
     * .hidden.tif, junk.tif (not an image), notes.json, out.tif ->
     * outside, away -> outside dir}, and root/../ a file outside */
    put("top", NULL);
    put("top/b.tif", "single.tif");
    put("top/a.tif", "rgb-deflate.tif");
    put("top/A.tif", "grey.tif");
    put("top/sub", NULL);
    put("top/sub/c.tif", "single.tif");
    put("top/book", NULL);
    put("top/.hidden.tif", "single.tif");
    put("top/junk.tif", "not-an-image.tif");
    put("outside.tif", "single.tif");
    snprintf(path, sizeof(path), "%s/top/a.tif.json", root);
    assert_int_equal(vl_fx_copy("/dev/null", path), 0);
    snprintf(path, sizeof(path), "%s/top/book.json", root);
    assert_int_equal(vl_fx_copy("/dev/null", path), 0);
    snprintf(path, sizeof(path), "%s/top/notes.json", root);
    assert_int_equal(vl_fx_copy("/dev/null", path), 0);
    snprintf(path, sizeof(path), "%s/top/out.tif", root);
    assert_int_equal(symlink("../outside.tif", path), 0);
    snprintf(path, sizeof(path), "%s/top/away", root);
    assert_int_equal(symlink("..", path), 0);
    snprintf(path, sizeof(path), "%s/top/in.tif", root);
    assert_int_equal(symlink("b.tif", path), 0);
    return 0;
}

static int
tree_teardown(void **state)
{
    char cmd[4200];

    (void) state;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
    return system(cmd) == 0 ? 0 : -1;
}

static vl_conf_t *
tree_conf(const char *sub, const char *suffix)
{
    char       prefix[4300], suf[64];
    char      *envp[3] = { prefix, suf, NULL };
    vl_err_t   err = { 0 };
    vl_conf_t *c;

    snprintf(prefix, sizeof(prefix), "FILESYSTEM_PREFIX=%s/%s", root, sub);
    snprintf(suf, sizeof(suf), "FILESYSTEM_SUFFIX=%s", suffix);
    c = vl_conf_load_env(NULL, envp, NULL, &err);
    if (c == NULL) {
        fail_msg("configuration: %s", err.msg);
    }
    return c;
}

static void
test_tree_list(void **state)
{
    vl_conf_t       *c = tree_conf("top", "");
    vl_pool_t       *p = new_pool();
    vl_tree_entry_t *e;
    size_t           n;
    vl_err_t         err = { 0 };
    char             names[512] = "";

    (void) state;
    assert_int_equal(vl_tree_list(p, c, "", VL_TREE_SNIFF, &e, &n, &err), VL_OK);
    for (size_t i = 0; i < n; i++) {
        char one[80];

        snprintf(one, sizeof(one), "%s%s=%s%s", i > 0 ? " " : "", e[i].name,
                 e[i].kind == VL_TREE_FOLDER ? "F" : "I",
                 e[i].sidecar ? "+json" : "");
        strcat(names, one);
    }
    /* bytewise order (capitals first); the symlink inside the root is an
     * image; hidden files, sidecars, the link out of the root (file and
     * folder), and a file that is not an image are not listed */
    assert_string_equal(names, "A.tif=I a.tif=I+json b.tif=I book=F+json "
                               "in.tif=I sub=F");
    assert_string_equal(e[1].id, "a.tif");
    assert_string_equal(e[5].id, "sub");

    assert_int_equal(vl_tree_list(p, c, "sub", VL_TREE_SNIFF, &e, &n, &err), VL_OK);
    assert_int_equal(n, 1);
    assert_string_equal(e[0].id, "sub/c.tif");
    assert_int_equal(vl_tree_list(p, c, "book", VL_TREE_SNIFF, &e, &n, &err), VL_OK);
    assert_int_equal(n, 0);

    /* folders that are not there, or not under the root */
    static const char *const missing[] = { "nope", "away", "..", "sub/..",
                                           "a.tif", "/etc", "sub//" };

    for (size_t i = 0; i < sizeof(missing) / sizeof(missing[0]); i++) {
        memset(&err, 0, sizeof(err));
        if (vl_tree_list(p, c, missing[i], VL_TREE_SNIFF, &e, &n, &err) != VL_ENOTFOUND) {
            fail_msg("'%s': listed (%s)", missing[i], err.msg);
        }
        assert_null(strstr(err.msg, root));
    }
    vl_pool_destroy(p);
    vl_conf_free(c);
}

/* FILESYSTEM_SUFFIX: only names that end with it are images, and their
 * identifiers are without it. */
static void
test_tree_suffix(void **state)
{
    vl_conf_t       *c = tree_conf("top", ".tif");
    vl_pool_t       *p = new_pool();
    vl_tree_entry_t *e;
    size_t           n;
    vl_err_t         err = { 0 };

    (void) state;
    assert_int_equal(vl_tree_list(p, c, "", VL_TREE_SNIFF, &e, &n, &err), VL_OK);
    assert_int_equal(n, 6);
    assert_string_equal(e[1].name, "a.tif");
    assert_string_equal(e[1].id, "a");
    assert_true(e[1].sidecar);
    assert_int_equal(vl_tree_list(p, c, "sub", VL_TREE_SNIFF, &e, &n, &err), VL_OK);
    assert_string_equal(e[0].id, "sub/c");
    vl_pool_destroy(p);
    vl_conf_free(c);
}

/* A configuration of the folder sub of the test root with env entries
 * (NAME=value, NULL-terminated) besides FILESYSTEM_PREFIX. */
static vl_conf_t *
tree_conf_env(const char *sub, const char *const *env)
{
    char       prefix[4300];
    char      *envp[8] = { prefix, NULL };
    vl_err_t   err = { 0 };
    vl_conf_t *c;
    size_t     k = 1;

    snprintf(prefix, sizeof(prefix), "FILESYSTEM_PREFIX=%s/%s", root, sub);
    for (; env != NULL && *env != NULL && k < 7; env++) {
        envp[k++] = (char *) *env;
    }
    envp[k] = NULL;
    c = vl_conf_load_env(NULL, envp, NULL, &err);
    if (c == NULL) {
        fail_msg("configuration: %s", err.msg);
    }
    return c;
}

/* The names vl_tree_list gives for folder "" of c, joined by ' '. */
static void
tree_names(vl_conf_t *c, unsigned flags, char *out, size_t size)
{
    vl_pool_t       *p = new_pool();
    vl_tree_entry_t *e;
    size_t           n, len = 0;
    vl_err_t         err = { 0 };

    if (vl_tree_list(p, c, "", flags, &e, &n, &err) != VL_OK) {
        fail_msg("listing: %s", err.msg);
    }
    out[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        len += (size_t) snprintf(out + len, size - len, "%s%s",
                                 i > 0 ? " " : "", e[i].name);
        assert_true(len < size);
    }
    vl_pool_destroy(p);
}

/* An image named as a page of another ("scan;2" with IIIF_DELIMITER ';')
 * is never reached by its name: it is not listed. What is listed is
 * exactly what vl_source_get opens by the entry's identifier. */
static void
test_tree_pages(void **state)
{
    static const char *const files[] = {
        "pages/scan.tif", "pages/scan;2.tif", "pages/scan;02.tif",
        "pages/scan;0.tif", "pages/scan;x.tif", "pages/scan;2a.tif",
        "pages/a;1;2.tif", "pages/scan;2", "pages/b_p3.tif",
        "pages/c;99999999999.tif",
    };
    static const char *const tif[] = { "FILESYSTEM_SUFFIX=.tif", NULL };
    static const char *const none[] = { "FILESYSTEM_SUFFIX=", NULL };
    static const char *const off[] = { "FILESYSTEM_SUFFIX=.tif",
                                       "IIIF_DELIMITER=", NULL };
    static const char *const p_[] = { "FILESYSTEM_SUFFIX=.tif",
                                      "IIIF_DELIMITER=_p", NULL };
    char             names[1024];
    vl_conf_t       *c;

    (void) state;
    put("pages", NULL);
    put("pages/vol;3", NULL);
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        put(files[i], "single.tif");
    }

    /* identifiers without the suffix: scan;2, scan;02, scan;0, a;1;2 and
     * c;99999999999 are pages (or a 404 "no such page"); a folder is
     * reached by its collection whatever its name */
    c = tree_conf_env("pages", tif);
    tree_names(c, VL_TREE_SNIFF, names, sizeof(names));
    assert_string_equal(names, "b_p3.tif scan.tif scan;2a.tif scan;x.tif "
                               "vol;3");
    tree_names(c, 0, names, sizeof(names));
    assert_string_equal(names, "b_p3.tif scan.tif scan;2a.tif scan;x.tif "
                               "vol;3");
    /* every listed image opens by its identifier, as the entry's file */
    {
        vl_pool_t       *p = new_pool();
        vl_tree_entry_t *e;
        size_t           n;
        vl_err_t         err = { 0 };

        assert_int_equal(vl_tree_list(p, c, "", VL_TREE_SNIFF, &e, &n, &err),
                         VL_OK);
        for (size_t i = 0; i < n; i++) {
            vl_source_t *src;

            if (e[i].kind != VL_TREE_IMAGE) {
                continue;
            }
            src = vl_source_get(NULL, c, e[i].id, &err);
            if (src == NULL) {
                fail_msg("%s: listed, not reached: %s", e[i].id, err.msg);
            }
            assert_true(vl_file_id_eq(&vl_source_info(src)->file,
                                      &e[i].file));
            vl_source_put(NULL, src);
        }
        /* and the ones left out do not reach their file */
        for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
            const char  *name = files[i] + strlen("pages/");
            size_t       len = strlen(name);
            vl_source_t *src;
            char         id[64];
            int          listed = 0;

            if (len < 4 || strcmp(name + len - 4, ".tif") != 0) {
                continue;
            }
            snprintf(id, sizeof(id), "%.*s", (int) (len - 4), name);
            for (size_t j = 0; j < n; j++) {
                listed |= strcmp(e[j].name, name) == 0;
            }
            if (listed) {
                continue;
            }
            memset(&err, 0, sizeof(err));
            src = vl_source_get(NULL, c, id, &err);
            if (src != NULL) {
                struct stat st;
                char        path[4300];
                vl_file_id_t f;

                snprintf(path, sizeof(path), "%s/%s", root, files[i]);
                assert_int_equal(stat(path, &st), 0);
                vl_file_id_of(&st, &f);
                if (vl_file_id_eq(&vl_source_info(src)->file, &f)) {
                    fail_msg("%s: left out, but reached", id);
                }
                vl_source_put(NULL, src);
            }
        }
        vl_pool_destroy(p);
    }
    vl_conf_free(c);

    /* no suffix: only the file named scan;2 ends in the delimiter and
     * digits */
    c = tree_conf_env("pages", none);
    tree_names(c, VL_TREE_SNIFF, names, sizeof(names));
    assert_string_equal(names, "a;1;2.tif b_p3.tif c;99999999999.tif "
                               "scan.tif scan;0.tif scan;02.tif scan;2.tif "
                               "scan;2a.tif scan;x.tif vol;3");
    vl_conf_free(c);

    /* pages off: every name is a file's */
    c = tree_conf_env("pages", off);
    tree_names(c, VL_TREE_SNIFF, names, sizeof(names));
    assert_string_equal(names, "a;1;2.tif b_p3.tif c;99999999999.tif "
                               "scan.tif scan;0.tif scan;02.tif scan;2.tif "
                               "scan;2a.tif scan;x.tif vol;3");
    vl_conf_free(c);

    /* another delimiter */
    c = tree_conf_env("pages", p_);
    tree_names(c, VL_TREE_SNIFF, names, sizeof(names));
    assert_string_equal(names, "a;1;2.tif c;99999999999.tif scan.tif "
                               "scan;0.tif scan;02.tif scan;2.tif "
                               "scan;2a.tif scan;x.tif vol;3");
    vl_conf_free(c);
}

/* Run fn as the unprivileged user nobody (root reads everything) in a
 * child process; its exit status, or -1 when there is no way to drop
 * privileges here (then the caller skips). Not root: fn in-process. */
static int
tree_as_nobody(int (*fn)(void))
{
    pid_t pid;
    int   status;

    if (geteuid() != 0) {
        return fn();
    }
    if ((pid = fork()) < 0) {
        return -1;
    }
    if (pid == 0) {
        if (setgroups(0, NULL) != 0 || setgid(65534) != 0
            || setuid(65534) != 0) {
            _exit(99);
        }
        _exit(fn());
    }
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status)) {
        return -1;
    }
    return WEXITSTATUS(status) == 99 ? -1 : WEXITSTATUS(status);
}

/* Lists root/strict/{shut (a folder mode 0644: readable, not enterable),
 * open/{ok.tif, locked.tif (mode 0)}}: 0 when everything is as it should
 * be, else the number of the check that failed. */
static int
tree_strict_checks(void)
{
    static const char *const none[] = { NULL };
    vl_conf_t       *c = tree_conf_env("strict", none);
    vl_pool_t       *p = vl_pool_create(4096);
    vl_tree_entry_t *e;
    size_t           n;
    vl_err_t         err = { 0 };
    int              bad = 0;

    /* the entries of the folder not enterable cannot be stat'ed: left out
     * when not strict, the listing fails when strict */
    if (vl_tree_list(p, c, "shut", VL_TREE_SNIFF, &e, &n, &err) != VL_OK
        || n != 0) {
        bad = 1;
    } else if (vl_tree_list(p, c, "shut", VL_TREE_SNIFF | VL_TREE_STRICT, &e,
                            &n, &err) != VL_EIO
               || strstr(err.msg, "cannot read an entry") == NULL
               || strstr(err.msg, root) != NULL) {
        bad = 2;
    }
    /* an image that cannot be opened: left out, or the listing fails */
    vl_err_clear(&err);
    if (bad == 0
        && (vl_tree_list(p, c, "open", VL_TREE_SNIFF, &e, &n, &err) != VL_OK
            || n != 1 || strcmp(e[0].name, "ok.tif") != 0)) {
        bad = 3;
    }
    vl_err_clear(&err);
    if (bad == 0
        && (vl_tree_list(p, c, "open", VL_TREE_SNIFF | VL_TREE_STRICT, &e, &n,
                         &err) != VL_EIO
            || strstr(err.msg, "cannot read an entry") == NULL)) {
        bad = 4;
    }
    /* not sniffed, the file is not opened: listed by name and kind */
    vl_err_clear(&err);
    if (bad == 0
        && (vl_tree_list(p, c, "open", VL_TREE_STRICT, &e, &n, &err) != VL_OK
            || n != 2)) {
        bad = 5;
    }
    /* the root itself lists */
    vl_err_clear(&err);
    if (bad == 0
        && (vl_tree_list(p, c, "", VL_TREE_SNIFF | VL_TREE_STRICT, &e, &n,
                         &err) != VL_OK
            || n != 2)) {
        bad = 6;
    }
    vl_pool_destroy(p);
    vl_conf_free(c);
    return bad;
}

/* VL_TREE_STRICT: an entry vellum cannot read (EACCES here) fails the
 * listing instead of being left out as if it were not there. */
static void
test_tree_strict(void **state)
{
    char path[4300];
    int  rc;

    (void) state;
    put("strict", NULL);
    put("strict/shut", NULL);
    put("strict/shut/a.tif", "single.tif");
    put("strict/open", NULL);
    put("strict/open/ok.tif", "single.tif");
    put("strict/open/locked.tif", "single.tif");
    /* nobody must reach the test root */
    assert_int_equal(chmod(root, 0755), 0);
    snprintf(path, sizeof(path), "%s/strict/shut", root);
    assert_int_equal(chmod(path, 0644), 0);
    snprintf(path, sizeof(path), "%s/strict/open/locked.tif", root);
    assert_int_equal(chmod(path, 0), 0);
    rc = tree_as_nobody(tree_strict_checks);
    snprintf(path, sizeof(path), "%s/strict/shut", root);
    assert_int_equal(chmod(path, 0755), 0);
    assert_int_equal(chmod(root, 0700), 0);
    if (rc < 0) {
        print_message("[  SKIP    ] cannot run as nobody here: the checks "
                      "of unreadable entries are skipped\n");
        return;
    }
    if (rc != 0) {
        fail_msg("strict listing: check %d failed", rc);
    }
}

static void
test_tree_sidecar(void **state)
{
    vl_conf_t   *c = tree_conf("top", "");
    vl_pool_t   *p = new_pool();
    vl_err_t     err = { 0 };
    vl_file_id_t f;
    char        *text;
    size_t       len;
    char         path[4300];
    FILE        *fp;

    (void) state;
    snprintf(path, sizeof(path), "%s/top/a.tif.json", root);
    fp = fopen(path, "w");
    assert_non_null(fp);
    fputs("{\"label\": \"A\"}", fp);
    fclose(fp);
    assert_int_equal(vl_tree_sidecar(p, c, "a.tif", 0, 1024, &text, &len, &f,
                                     &err), VL_OK);
    assert_string_equal(text, "{\"label\": \"A\"}");
    assert_int_equal(len, 14);
    assert_int_equal(vl_tree_sidecar(p, c, "a.tif", 0, 10, &text, &len, &f,
                                     &err), VL_ELIMIT);
    assert_int_equal(vl_tree_sidecar(p, c, "book", 1, 1024, &text, &len, &f,
                                     &err), VL_OK);
    assert_int_equal(len, 0);
    assert_int_equal(vl_tree_sidecar(p, c, "b.tif", 0, 1024, &text, &len, &f,
                                     &err), VL_ENOTFOUND);
    assert_int_equal(vl_tree_sidecar(p, c, "../outside.tif", 0, 1024, &text,
                                     &len, &f, &err), VL_ENOTFOUND);
    vl_pool_destroy(p);
    vl_conf_free(c);
}

/* ------------------------------------------------------------- renderer */

static void
test_uri_and_rights(void **state)
{
    vl_pool_t *p = new_pool();

    (void) state;
    assert_string_equal(vl_tree_uri(p, "https://h/iiif/3/", "a b/c%d.tif",
                                    "/manifest"),
                        "https://h/iiif/3/a%20b%2Fc%25d.tif/manifest");
    assert_string_equal(vl_tree_uri(p, "https://h/iiif/3/", "", "collection"
                                    ".json"), "https://h/iiif/3/collection"
                                              ".json");
    assert_string_equal(vl_p3_rights(p, "https://creativecommons.org/licenses"
                                        "/by/4.0/"),
                        "http://creativecommons.org/licenses/by/4.0/");
    assert_string_equal(vl_p3_rights(p, "http://rightsstatements.org/vocab/"
                                        "InC/1.0/"),
                        "http://rightsstatements.org/vocab/InC/1.0/");
    assert_null(vl_p3_rights(p, "https://example.org/terms"));
    assert_null(vl_p3_rights(p, "https://creativecommons.org.evil/x"));
    vl_pool_destroy(p);
}

static void
test_manifest_json(void **state)
{
    vl_pool_t       *p = new_pool();
    vl_err_t         err = { 0 };
    vl_p3_canvas_t   cv = { 0 };
    vl_p3_manifest_t m = { 0 };
    json_t          *d, *body, *svc;
    json_error_t     jerr;
    char            *text;
    size_t           len;

    (void) state;
    m.id = "https://h/iiif/3/a.tif/manifest";
    assert_int_equal(vl_langmap_none(p, "a.tif", &m.d.label), VL_OK);
    cv.id = "https://h/iiif/3/a.tif/canvas/1";
    cv.width = 1001;
    cv.height = 737;
    cv.page_id = "https://h/iiif/3/a.tif/page/1";
    cv.anno_id = "https://h/iiif/3/a.tif/annotation/1";
    cv.body.id = "https://h/iiif/3/a.tif/full/max/0/default.jpg";
    cv.body.format = "image/jpeg";
    cv.body.width = 1001;
    cv.body.height = 737;
    cv.body.service3 = "https://h/iiif/3/a.tif";
    cv.body.service2 = "https://h/iiif/2/a.tif";
    m.canvases = &cv;
    m.ncanvases = 1;
    assert_int_equal(vl_p3_manifest_json(p, &m, &text, &len, &err), VL_OK);
    assert_int_equal(strlen(text), len);
    /* @context is the first key */
    assert_int_equal(strncmp(text, "{\n  \"@context\": ", 16), 0);
    d = json_loadb(text, len, 0, &jerr);
    assert_non_null(d);
    assert_string_equal(json_string_value(json_object_get(d, "type")),
                        "Manifest");
    assert_string_equal(json_string_value(json_array_get(json_object_get(
                            json_object_get(d, "label"), "none"), 0)),
                        "a.tif");
    body = json_object_get(json_array_get(json_object_get(json_array_get(
               json_object_get(json_array_get(json_object_get(d, "items"), 0),
                               "items"), 0), "items"), 0), "body");
    assert_non_null(body);
    assert_string_equal(json_string_value(json_object_get(body, "type")),
                        "Image");
    assert_int_equal(json_integer_value(json_object_get(body, "width")), 1001);
    svc = json_object_get(body, "service");
    assert_int_equal(json_array_size(svc), 2);
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(svc, 0), "type")), "ImageService3");
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(svc, 0), "profile")), "level2");
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(svc, 1), "@type")), "ImageService2");
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(svc, 1), "@id")),
                        "https://h/iiif/2/a.tif");
    assert_null(json_object_get(json_array_get(svc, 1), "id"));
    /* absent optional fields are absent, not null */
    assert_null(json_object_get(d, "rights"));
    assert_null(json_object_get(d, "thumbnail"));
    assert_null(json_object_get(d, "summary"));
    json_decref(d);

    /* a required field missing is a bug, not a document */
    m.d.label.n = 0;
    assert_int_equal(vl_p3_manifest_json(p, &m, &text, &len, &err),
                     VL_EINTERNAL);
    vl_pool_destroy(p);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sidecar_full),
        cmocka_unit_test(test_sidecar_short_metadata),
        cmocka_unit_test(test_sidecar_refused),
        cmocka_unit_test(test_tree_list),
        cmocka_unit_test(test_tree_suffix),
        cmocka_unit_test(test_tree_pages),
        cmocka_unit_test(test_tree_strict),
        cmocka_unit_test(test_tree_sidecar),
        cmocka_unit_test(test_uri_and_rights),
        cmocka_unit_test(test_manifest_json),
    };

    return cmocka_run_group_tests(tests, tree_setup, tree_teardown);
}
