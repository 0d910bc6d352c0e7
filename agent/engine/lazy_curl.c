/* libcurl, mapped at first use (lazylib.h): HTTP probes, notifications,
 * Kubernetes, and faultctl's requests to agents. faultctl status loads it;
 * faultctl --local run, an idle agent and validate do not. */
/* The wrappers take the functions' own names; curl.h's type-checking
 * macros would rewrite the definitions of the variadic ones. */
#define CURL_DISABLE_TYPECHECK 1
#include <curl/curl.h>
#include <stdarg.h>

#include "lazylib.h"

/* Every libcurl function faultline calls but the variadic three below:
 * return type, name, parameters, arguments, what it returns when libcurl
 * cannot be loaded. */
#define CURL_FNS(F) \
	F(CURL *, curl_easy_init, (void), (), NULL) \
	F(CURLcode, curl_easy_perform, (CURL *h), (h), CURLE_FAILED_INIT) \
	F(const char *, curl_easy_strerror, (CURLcode c), (c), \
	    "libcurl is not available") \
	F(CURLcode, curl_global_init, (long flags), (flags), CURLE_FAILED_INIT) \
	F(CURLMcode, curl_multi_add_handle, (CURLM *m, CURL *h), (m, h), \
	    CURLM_INTERNAL_ERROR) \
	F(CURLMcode, curl_multi_assign, (CURLM *m, curl_socket_t s, void *p), \
	    (m, s, p), CURLM_INTERNAL_ERROR) \
	F(CURLMcode, curl_multi_cleanup, (CURLM *m), (m), CURLM_INTERNAL_ERROR) \
	F(CURLMsg *, curl_multi_info_read, (CURLM *m, int *q), (m, q), NULL) \
	F(CURLM *, curl_multi_init, (void), (), NULL) \
	F(CURLMcode, curl_multi_remove_handle, (CURLM *m, CURL *h), (m, h), \
	    CURLM_INTERNAL_ERROR) \
	F(CURLMcode, curl_multi_socket_action, \
	    (CURLM *m, curl_socket_t s, int ev, int *running), \
	    (m, s, ev, running), CURLM_INTERNAL_ERROR) \
	F(const char *, curl_multi_strerror, (CURLMcode c), (c), \
	    "libcurl is not available") \
	F(struct curl_slist *, curl_slist_append, \
	    (struct curl_slist *l, const char *s), (l, s), NULL) \
	F(curl_version_info_data *, curl_version_info, (CURLversion v), (v), \
	    NULL)
#define CURL_VOID_FNS(V) \
	V(curl_easy_cleanup, (CURL *h), (h)) \
	V(curl_slist_free_all, (struct curl_slist *l), (l))
#define CURL_VARIADIC(X) \
	X(curl_easy_setopt) X(curl_multi_setopt) X(curl_easy_getinfo)
#define VAR_INDEX(name) LZ_##name,
#define VAR_NAME(name) #name,

enum {
	CURL_FNS(LAZY_INDEX) CURL_VOID_FNS(LAZY_VOID_INDEX)
	CURL_VARIADIC(VAR_INDEX)
	LZ_CURL_N
};
static const char *const curl_names[] = {
	CURL_FNS(LAZY_NAME) CURL_VOID_FNS(LAZY_VOID_NAME)
	CURL_VARIADIC(VAR_NAME)
};
static void *curl_fn[LZ_CURL_N];

struct lazylib lazy_curl = LAZYLIB_INIT("libcurl.so.4",
    "HTTP and Prometheus probes, notifications, pod-kill and faultctl's "
    "requests to an agent", curl_names, curl_fn);

#define CURL_DEFINE(ret, name, params, args, fail) \
	LAZY_DEFINE(lazy_curl, curl_fn, ret, name, params, args, fail)
#define CURL_DEFINE_VOID(name, params, args) \
	LAZY_DEFINE_VOID(lazy_curl, curl_fn, name, params, args)
CURL_FNS(CURL_DEFINE)
CURL_VOID_FNS(CURL_DEFINE_VOID)

/* The option's argument, read as libcurl itself reads it: its type is
 * given by the range the option number is in (CURLOPTTYPE_*, the same
 * for easy and multi options). */
union optarg {
	long l;
	void *p;
	void (*f)(void);
	curl_off_t o;
};

static void
optarg_read(union optarg *a, int option, va_list ap)
{
	if (option < CURLOPTTYPE_OBJECTPOINT)
		a->l = va_arg(ap, long);
	else if (option < CURLOPTTYPE_FUNCTIONPOINT)
		a->p = va_arg(ap, void *);
	else if (option < CURLOPTTYPE_OFF_T)
		a->f = va_arg(ap, void (*)(void));
	else if (option < CURLOPTTYPE_BLOB)
		a->o = va_arg(ap, curl_off_t);
	else
		a->p = va_arg(ap, void *);   /* struct curl_blob * */
}

/* Call fp, the real variadic function, with the argument as its type. */
#define OPT_CALL(fp, h, option, a) \
	((int)(option) < CURLOPTTYPE_OBJECTPOINT ? (fp)((h), (option), (a).l) : \
	 (int)(option) < CURLOPTTYPE_FUNCTIONPOINT || \
	 (int)(option) >= CURLOPTTYPE_BLOB ? (fp)((h), (option), (a).p) : \
	 (int)(option) < CURLOPTTYPE_OFF_T ? (fp)((h), (option), (a).f) : \
	    (fp)((h), (option), (a).o))

CURLcode
curl_easy_setopt(CURL *h, CURLoption option, ...)
{
	CURLcode (*fp)(CURL *, CURLoption, ...);
	union optarg a;
	va_list ap;

	if (lazylib_load(&lazy_curl) == -1)
		return CURLE_FAILED_INIT;
	fp = (CURLcode (*)(CURL *, CURLoption, ...))curl_fn[LZ_curl_easy_setopt];
	va_start(ap, option);
	optarg_read(&a, (int)option, ap);
	va_end(ap);
	return OPT_CALL(fp, h, option, a);
}

CURLMcode
curl_multi_setopt(CURLM *m, CURLMoption option, ...)
{
	CURLMcode (*fp)(CURLM *, CURLMoption, ...);
	union optarg a;
	va_list ap;

	if (lazylib_load(&lazy_curl) == -1)
		return CURLM_INTERNAL_ERROR;
	fp = (CURLMcode (*)(CURLM *, CURLMoption, ...))
	    curl_fn[LZ_curl_multi_setopt];
	va_start(ap, option);
	optarg_read(&a, (int)option, ap);
	va_end(ap);
	return OPT_CALL(fp, m, option, a);
}

/* Every CURLINFO takes one pointer to where the answer goes. */
CURLcode
curl_easy_getinfo(CURL *h, CURLINFO info, ...)
{
	void *p;
	va_list ap;

	if (lazylib_load(&lazy_curl) == -1)
		return CURLE_FAILED_INIT;
	va_start(ap, info);
	p = va_arg(ap, void *);
	va_end(ap);
	return ((CURLcode (*)(CURL *, CURLINFO, ...))
	    curl_fn[LZ_curl_easy_getinfo])(h, info, p);
}
