/* Bounded loopback load for bench/traffic_overhead.
 *   flood udp-send PORT SECONDS SIZE   small datagrams to 127.0.0.1:PORT; prints packets sent
 *   flood udp-recv PORT SECONDS        drains 127.0.0.1:PORT; prints packets received
 *   flood tcp-send PORT SECONDS        64 KiB writes to 127.0.0.1:PORT; prints bytes sent
 *   flood tcp-recv PORT SECONDS        accepts one connection and drains it; prints bytes
 *   flood accept-loop PORT SECONDS     accepts and closes connections; prints how many
 *   flood connect-loop PORT SECONDS    connects and closes as fast as it can; prints how many
 *   flood http-loop PORT SECONDS       one HTTP/1.1 GET per connection (Connection: close),
 *                                      read to the server's close; prints responses
 *   flood refuse-loop PORT SECONDS     connects to a closed port as fast as it can; prints
 *                                      how many were refused
 *   flood echo-server PORT SECONDS     echoes UDP datagrams on 127.0.0.1:PORT
 *   flood ping-loop PORT SECONDS       prints its pid, waits for a line on stdin, then sends a
 *                                      32-byte datagram and waits for its echo, again and
 *                                      again; prints round trips
 * Every loop stops after SECONDS (and the receivers after 1 s of silence). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static struct sockaddr_in addr(int port)
{
    struct sockaddr_in a;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return a;
}

int main(int argc, char **argv)
{
    if (argc < 4)
        return 2;
    const char *mode = argv[1];
    int port = atoi(argv[2]);
    double seconds = atof(argv[3]);
    struct sockaddr_in a = addr(port);
    static char buf[65536];
    struct timeval idle = {1, 0};
    double end = now() + seconds;
    unsigned long long n = 0;

    if (!strcmp(mode, "udp-send")) {
        int size = argc > 4 ? atoi(argv[4]) : 64;
        int s = socket(AF_INET, SOCK_DGRAM, 0);
        while (1) {
            for (int i = 0; i < 256; i++)
                if (sendto(s, buf, size, 0, (struct sockaddr *)&a, sizeof(a)) > 0)
                    n++;
            if (now() >= end)
                break;
        }
    } else if (!strcmp(mode, "udp-recv")) {
        int s = socket(AF_INET, SOCK_DGRAM, 0);
        int rcvbuf = 8 << 20;
        setsockopt(s, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
        bind(s, (struct sockaddr *)&a, sizeof(a));
        setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &idle, sizeof(idle));
        printf("ready\n");
        fflush(stdout);
        while (now() < end + 2 && recv(s, buf, sizeof(buf), 0) > 0)
            n++;
    } else if (!strcmp(mode, "tcp-send")) {
        int s = socket(AF_INET, SOCK_STREAM, 0);
        if (connect(s, (struct sockaddr *)&a, sizeof(a)) < 0)
            return 1;
        while (now() < end) {
            ssize_t w = write(s, buf, sizeof(buf));
            if (w <= 0)
                break;
            n += w;
        }
        close(s);
    } else if (!strcmp(mode, "tcp-recv")) {
        int l = socket(AF_INET, SOCK_STREAM, 0), one = 1;
        setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        bind(l, (struct sockaddr *)&a, sizeof(a));
        listen(l, 1);
        printf("ready\n");
        fflush(stdout);
        int c = accept(l, NULL, NULL);
        setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &idle, sizeof(idle));
        ssize_t r;
        while (now() < end + 2 && (r = read(c, buf, sizeof(buf))) > 0)
            n += r;
    } else if (!strcmp(mode, "accept-loop")) {
        int l = socket(AF_INET, SOCK_STREAM, 0), one = 1;
        setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        bind(l, (struct sockaddr *)&a, sizeof(a));
        listen(l, 4096);
        setsockopt(l, SOL_SOCKET, SO_RCVTIMEO, &idle, sizeof(idle));
        printf("ready\n");
        fflush(stdout);
        int c;
        while (now() < end + 2 && (c = accept(l, NULL, NULL)) >= 0) {
            close(c);
            n++;
        }
    } else if (!strcmp(mode, "connect-loop")) {
        struct linger lg = {1, 0}; /* RST on close: no TIME_WAIT pile-up over a long loop */
        while (now() < end) {
            int s = socket(AF_INET, SOCK_STREAM, 0);
            setsockopt(s, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
            if (connect(s, (struct sockaddr *)&a, sizeof(a)) == 0)
                n++;
            close(s);
        }
    } else if (!strcmp(mode, "http-loop")) {
        static const char get[] = "GET / HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n";
        while (now() < end) {
            int s = socket(AF_INET, SOCK_STREAM, 0);
            if (connect(s, (struct sockaddr *)&a, sizeof(a)) == 0 &&
                write(s, get, sizeof(get) - 1) == (ssize_t)(sizeof(get) - 1)) {
                ssize_t r, got = 0;
                while ((r = read(s, buf, sizeof(buf))) > 0)
                    got += r;
                if (got > 0)
                    n++;
            }
            close(s);
        }
    } else if (!strcmp(mode, "refuse-loop")) {
        while (now() < end) {
            int s = socket(AF_INET, SOCK_STREAM, 0);
            if (connect(s, (struct sockaddr *)&a, sizeof(a)) != 0)
                n++;
            close(s);
        }
    } else if (!strcmp(mode, "echo-server")) {
        int s = socket(AF_INET, SOCK_DGRAM, 0);
        bind(s, (struct sockaddr *)&a, sizeof(a));
        setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &idle, sizeof(idle));
        printf("ready\n");
        fflush(stdout);
        struct sockaddr_in peer;
        socklen_t len = sizeof(peer);
        ssize_t r;
        while (now() < end + 30) { /* waits out the client's start; killed when it is done */
            r = recvfrom(s, buf, sizeof(buf), 0, (struct sockaddr *)&peer, &len);
            if (r > 0) {
                sendto(s, buf, r, 0, (struct sockaddr *)&peer, len);
                n++;
            }
            len = sizeof(peer);
        }
    } else if (!strcmp(mode, "ping-loop")) {
        int s = socket(AF_INET, SOCK_DGRAM, 0);
        setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &idle, sizeof(idle));
        connect(s, (struct sockaddr *)&a, sizeof(a));
        printf("%d\n", (int)getpid());
        fflush(stdout);
        char go[16];
        if (!fgets(go, sizeof(go), stdin))
            return 1;
        end = now() + seconds;
        while (now() < end) {
            if (send(s, buf, 32, 0) != 32 || recv(s, buf, sizeof(buf), 0) <= 0)
                break;
            n++;
        }
    } else {
        return 2;
    }
    printf("%llu\n", n);
    return 0;
}
