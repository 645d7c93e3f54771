/* test_io_json.c - the JSON parser (runtime/io/json.c): values, escapes, integers, and every refusal. */
#include <stdint.h>

#include "io/json.h"
#include "test.h"

static sl_json *parse(const char *s)
{
    sl_json *j = NULL;
    if (sl_json_parse(s, strlen(s), 0, &j) != SL_OK) return NULL;
    return j;
}

/* Expect parsing to fail with a message containing needle. */
#define CHECK_JSON_FAILS(text, needle)                                         \
    do {                                                                       \
        sl_json *j_ = NULL;                                                    \
        CHECK_FAILS(sl_json_parse((text), strlen(text), 0, &j_), (needle));   \
        CHECK(j_ == NULL);                                                     \
    } while (0)

static void test_values(void)
{
    sl_json *j = parse(" {\"a\": [1, -2, true, false, null, \"x\", {}, []], \"b\": {\"c\": 0}} \n");
    CHECK(j && j->type == SL_JSON_OBJECT && j->count == 2);
    if (!j) return;
    const sl_json *a = sl_json_get(j, "a");
    CHECK(a && a->type == SL_JSON_ARRAY && a->count == 8);
    CHECK(a->items[0].type == SL_JSON_NUMBER && a->items[0].is_int && a->items[0].integer == 1);
    CHECK(a->items[1].is_int && a->items[1].integer == -2);
    CHECK(a->items[2].type == SL_JSON_BOOL && a->items[2].boolean);
    CHECK(a->items[3].type == SL_JSON_BOOL && !a->items[3].boolean);
    CHECK(a->items[4].type == SL_JSON_NULL);
    CHECK(a->items[5].type == SL_JSON_STRING && strcmp(a->items[5].str, "x") == 0 && a->items[5].len == 1);
    CHECK(a->items[6].type == SL_JSON_OBJECT && a->items[6].count == 0);
    CHECK(a->items[7].type == SL_JSON_ARRAY && a->items[7].count == 0);
    const sl_json *c = sl_json_get(sl_json_get(j, "b"), "c");
    CHECK(c && c->is_int && c->integer == 0);
    CHECK(sl_json_get(j, "zz") == NULL);
    CHECK(strcmp(j->items[1].key, "b") == 0);
    sl_json_free(j);

    j = parse("\"top\""); /* any value at the top level */
    CHECK(j && j->type == SL_JSON_STRING);
    sl_json_free(j);
    j = parse("-0");
    CHECK(j && j->is_int && j->integer == 0);
    sl_json_free(j);
}

static void test_escapes(void)
{
    sl_json *j = parse("\"q\\\" b\\\\ s\\/ \\b\\f\\n\\r\\t \\u0041\\u00e9\\u20ac \\ud83d\\ude00 \\u0000z\"");
    CHECK(j && j->type == SL_JSON_STRING);
    if (!j) return;
    const char want[] = "q\" b\\ s/ \b\f\n\r\t A\xc3\xa9\xe2\x82\xac \xf0\x9f\x98\x80 \0z";
    CHECK(j->len == sizeof want - 1);
    CHECK(memcmp(j->str, want, sizeof want - 1) == 0);
    sl_json_free(j);
    /* raw UTF-8 passes through */
    j = parse("\"caf\xc3\xa9 \xf0\x9f\x98\x80\"");
    CHECK(j && j->len == 10);
    sl_json_free(j);
}

static void test_numbers(void)
{
    sl_json *j = parse("[9223372036854775807, -9223372036854775808, 9223372036854775808, "
                       "-9223372036854775809, 1.5, 1e3, 2E-2, 0.0, 99999999999999999999999]");
    CHECK(j && j->count == 9);
    if (!j) return;
    CHECK(j->items[0].is_int && j->items[0].integer == INT64_MAX);
    CHECK(j->items[1].is_int && j->items[1].integer == INT64_MIN);
    CHECK(!j->items[2].is_int && strcmp(j->items[2].str, "9223372036854775808") == 0); /* overflow */
    CHECK(!j->items[3].is_int);
    CHECK(!j->items[4].is_int && strcmp(j->items[4].str, "1.5") == 0);
    CHECK(!j->items[5].is_int && !j->items[6].is_int && !j->items[7].is_int && !j->items[8].is_int);
    sl_json_free(j);
}

static void test_malformed(void)
{
    CHECK_JSON_FAILS("", "unexpected end of input");
    CHECK_JSON_FAILS("   ", "unexpected end of input");
    CHECK_JSON_FAILS("{", "expected a string key");
    CHECK_JSON_FAILS("{\"a\"}", "expected ':'");
    CHECK_JSON_FAILS("{\"a\":1,}", "expected a string key");
    CHECK_JSON_FAILS("[1,]", "expected a value");
    CHECK_JSON_FAILS("[1 2]", "expected ',' or ']'");
    CHECK_JSON_FAILS("{a:1}", "expected a string key");
    CHECK_JSON_FAILS("{\"a\":1} x", "trailing 'x'");
    CHECK_JSON_FAILS("{} {}", "trailing '{'");
    CHECK_JSON_FAILS("\"abc", "unterminated string");
    CHECK_JSON_FAILS("\"abc\\", "unterminated string");
    CHECK_JSON_FAILS("\"a\tb\"", "raw control character 0x09");
    CHECK_JSON_FAILS("\"\\x\"", "bad escape");
    CHECK_JSON_FAILS("\"\\u12g4\"", "bad hex digit");
    CHECK_JSON_FAILS("\"\\u12\"", "\\u escape");
    CHECK_JSON_FAILS("\"\\u12\"   ", "bad hex digit");
    CHECK_JSON_FAILS("\"\\ud83d\"", "lone high surrogate");
    CHECK_JSON_FAILS("\"\\ud83dx\"", "lone high surrogate");
    CHECK_JSON_FAILS("\"\\ud83d\\u0041\"", "not a low surrogate");
    CHECK_JSON_FAILS("\"\\ude00\"", "lone low surrogate");
    CHECK_JSON_FAILS("\"\xc3\"", "invalid UTF-8");
    CHECK_JSON_FAILS("\"\xc0\xaf\"", "invalid UTF-8");          /* overlong '/' */
    CHECK_JSON_FAILS("\"\xed\xa0\x80\"", "invalid UTF-8");      /* encoded surrogate */
    CHECK_JSON_FAILS("\"\xf4\x90\x80\x80\"", "invalid UTF-8");  /* > U+10FFFF */
    CHECK_JSON_FAILS("\"\xff\"", "invalid UTF-8");
    CHECK_JSON_FAILS("01", "leading zero");
    CHECK_JSON_FAILS("-", "expected a digit");
    CHECK_JSON_FAILS("1.", "expected a digit after '.'");
    CHECK_JSON_FAILS("1e", "expected a digit in exponent");
    CHECK_JSON_FAILS("+1", "unexpected '+'");
    CHECK_JSON_FAILS("tru", "invalid literal");
    CHECK_JSON_FAILS("nul", "invalid literal");
    CHECK_JSON_FAILS("NaN", "unexpected 'N'");
    CHECK_JSON_FAILS("{\"a\":1,\"a\":2}", "duplicate key \"a\"");
    CHECK_JSON_FAILS("\x01", "byte 0x01");
    /* position: line and column */
    CHECK_JSON_FAILS("{\n  \"a\": x}", "line 2, column 8");
}

static void test_strict_trailing_nul(void)
{
    /* An embedded NUL after the value is trailing garbage when the length says so. */
    sl_json *j = NULL;
    CHECK_FAILS(sl_json_parse("[1]\0", 4, 0, &j), "trailing byte 0x00");
}

static void test_duplicates_large_object(void)
{
    /* More keys than the quadratic check handles: the sorted check must find the duplicate. */
    sl_strbuf b = {0};
    sl_strbuf_puts(&b, "{");
    for (int i = 0; i < 100; i++) sl_strbuf_printf(&b, "%s\"k%d\":%d", i ? "," : "", i, i);
    sl_strbuf_puts(&b, ",\"k57\":0}");
    sl_json *j = NULL;
    CHECK_FAILS(sl_json_parse(b.data, b.len, 0, &j), "duplicate key \"k57\"");
    /* and no false positive without it */
    b.data[b.len - 9] = '}';
    b.len -= 8;
    CHECK(sl_json_parse(b.data, b.len, 0, &j) == SL_OK && j && j->count == 100);
    sl_json_free(j);
    /* keys that differ only after an embedded NUL are distinct */
    const char nul_keys[] = "{\"a\\u0000b\":1,\"a\\u0000c\":2,\"a\":3}";
    CHECK(sl_json_parse(nul_keys, sizeof nul_keys - 1, 0, &j) == SL_OK);
    sl_json_free(j);
    sl_strbuf_free(&b);
}

static void test_depth(void)
{
    char deep[300];
    for (int i = 0; i < 100; i++) deep[i] = '[', deep[100 + i] = ']';
    sl_json *j = NULL;
    CHECK_FAILS(sl_json_parse(deep, 200, 64, &j), "nesting deeper than 64");
    CHECK(sl_json_parse(deep + 36, 128, 64, &j) == SL_OK); /* exactly 64 levels */
    sl_json_free(j);
    /* an unbalanced opening run does not recurse past the limit either */
    memset(deep, '{', sizeof deep);
    CHECK_FAILS(sl_json_parse(deep, sizeof deep, 0, &j), "json:");
}

static void test_alloc_failures(void)
{
    const char *text = "{\"a\":[1,2,3,4,5,6,7,8,9],\"b\":{\"c\":\"\\u00e9\",\"d\":null},\"e\":1.5}";
    for (int k = 1; k < 100; k++) {
        sl_json *j = NULL;
        sl_alloc_fail_after(k);
        int rc = sl_json_parse(text, strlen(text), 0, &j);
        sl_alloc_fail_after(0);
        if (rc == SL_OK) {
            CHECK(k > 5);
            sl_json_free(j);
            break;
        }
        CHECK(j == NULL && strstr(sl_last_error(), "out of memory"));
    }
}

static void test_write_string(void)
{
    sl_strbuf b = {0};
    const char s[] = "a\"b\\c/\b\f\n\r\t\x01\x1f\x7f caf\xc3\xa9";
    CHECK(sl_json_write_string(&b, s, sizeof s - 1) == SL_OK);
    const char *want = "\"a\\\"b\\\\c/\\b\\f\\n\\r\\t\\u0001\\u001f\x7f caf\xc3\xa9\"";
    CHECK(b.data && strcmp(b.data, want) == 0);
    /* round trip through the parser */
    sl_json *j = NULL;
    CHECK(sl_json_parse(b.data, b.len, 0, &j) == SL_OK && j->len == sizeof s - 1 && memcmp(j->str, s, j->len) == 0);
    sl_json_free(j);
    CHECK_FAILS(sl_json_write_string(&b, "\xff", 1), "not valid UTF-8");
    sl_strbuf_free(&b);
    CHECK(sl_utf8_valid("", 0));
    CHECK(!sl_utf8_valid("\xe2\x82", 2));
}

int main(void)
{
    RUN(test_values);
    RUN(test_escapes);
    RUN(test_numbers);
    RUN(test_malformed);
    RUN(test_strict_trailing_nul);
    RUN(test_duplicates_large_object);
    RUN(test_depth);
    RUN(test_alloc_failures);
    RUN(test_write_string);
    return test_summary();
}
