/*
 * The FastCGI floor of bench/run: a libfcgi responder that answers every
 * request with the same 10 KB body, whatever the path. It does no work, so
 * its rate through nginx is the cost of the nginx-FastCGI hop itself; no
 * image server behind the same hop can beat it by much. Serves the listening
 * socket on fd 0 (spawn-fcgi -F 2 starts two of them). Single-threaded.
 */
#include <string.h>

#include <fcgiapp.h>

#define FLOOR_BODY 10240

int
main(void)
{
    static char         body[FLOOR_BODY];
    static const char   head[] =
        "Status: 200 OK\r\n"
        "Content-Type: image/jpeg\r\n"
        "Content-Length: 10240\r\n"
        "\r\n";
    FCGX_Request        req;

    memset(body, 'v', sizeof(body));
    if (FCGX_Init() != 0 || FCGX_InitRequest(&req, 0, 0) != 0) {
        return 1;
    }
    while (FCGX_Accept_r(&req) >= 0) {
        FCGX_PutStr(head, (int) sizeof(head) - 1, req.out);
        FCGX_PutStr(body, (int) sizeof(body), req.out);
        FCGX_Finish_r(&req);
    }
    return 0;
}
