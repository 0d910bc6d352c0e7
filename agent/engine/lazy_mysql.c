/* MariaDB Connector/C, mapped at first use (lazylib.h): MySQL and MariaDB
 * conn-exhaust faults. */
#include <errmsg.h>
#include <mysql.h>

#include "lazylib.h"

/* Every Connector/C function faultline calls: return type, name,
 * parameters, arguments, what it returns when the library cannot be
 * loaded. mysql_library_init is mysql.h's macro for mysql_server_init. */
#define MYSQL_FNS(F) \
	F(int, mysql_server_init, (int argc, char **argv, char **groups), \
	    (argc, argv, groups), 1) \
	F(MYSQL *, mysql_init, (MYSQL *m), (m), NULL) \
	F(int, mysql_options, (MYSQL *m, enum mysql_option o, const void *arg), \
	    (m, o, arg), 1) \
	F(unsigned int, mysql_errno, (MYSQL *m), (m), CR_UNKNOWN_ERROR) \
	F(const char *, mysql_error, (MYSQL *m), (m), \
	    "MariaDB Connector/C is not available") \
	F(my_socket, mysql_get_socket, (MYSQL *m), (m), -1) \
	F(int, mysql_real_connect_start, (MYSQL **ret, MYSQL *m, \
	    const char *host, const char *user, const char *pw, \
	    const char *db, unsigned int port, const char *unix_socket, \
	    unsigned long flags), \
	    (ret, m, host, user, pw, db, port, unix_socket, flags), 0) \
	F(int, mysql_real_connect_cont, (MYSQL **ret, MYSQL *m, int st), \
	    (ret, m, st), 0) \
	F(int, mysql_real_query_start, (int *ret, MYSQL *m, const char *q, \
	    unsigned long n), (ret, m, q, n), 0) \
	F(int, mysql_real_query_cont, (int *ret, MYSQL *m, int st), \
	    (ret, m, st), 0) \
	F(int, mysql_store_result_start, (MYSQL_RES **ret, MYSQL *m), \
	    (ret, m), 0) \
	F(int, mysql_store_result_cont, (MYSQL_RES **ret, MYSQL *m, int st), \
	    (ret, m, st), 0) \
	F(MYSQL_ROW, mysql_fetch_row, (MYSQL_RES *r), (r), NULL) \
	F(int, mysql_close_start, (MYSQL *m), (m), 0) \
	F(int, mysql_close_cont, (MYSQL *m, int st), (m, st), 0)
#define MYSQL_VOID_FNS(V) \
	V(mysql_close, (MYSQL *m), (m)) \
	V(mysql_free_result, (MYSQL_RES *r), (r))

enum { MYSQL_FNS(LAZY_INDEX) MYSQL_VOID_FNS(LAZY_VOID_INDEX) LZ_MYSQL_N };
static const char *const mysql_names[] = {
	MYSQL_FNS(LAZY_NAME) MYSQL_VOID_FNS(LAZY_VOID_NAME)
};
static void *mysql_fn[LZ_MYSQL_N];

struct lazylib lazy_mysql = LAZYLIB_INIT("libmariadb.so.3",
    "MySQL and MariaDB conn-exhaust faults", mysql_names, mysql_fn);

#define MYSQL_DEFINE(ret, name, params, args, fail) \
	LAZY_DEFINE(lazy_mysql, mysql_fn, ret, name, params, args, fail)
#define MYSQL_DEFINE_VOID(name, params, args) \
	LAZY_DEFINE_VOID(lazy_mysql, mysql_fn, name, params, args)
MYSQL_FNS(MYSQL_DEFINE)
MYSQL_VOID_FNS(MYSQL_DEFINE_VOID)
