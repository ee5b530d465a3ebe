/*
 * kenc-status: ask ken-agent for its status over its Unix socket and print the answer as
 * "key: value" lines.
 *
 *   kenc-status /run/ken/agent.sock
 *
 * Wire format (docs/protocol.md): each message is a protobuf-encoded envelope preceded by its
 * length as a base-128 varint. We send AgentRequest{id: 1, status: {}} and read one
 * AgentResponse. Exit status: 0 on an OK answer, 1 on any error (with a message on stderr).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "ken/v1/agent.pb-c.h"

/* The same default limit as the Swift side: refuse a length before allocating for it. */
#define MAX_FRAME_SIZE (4u * 1024u * 1024u)
#define REQUEST_ID 1

static const char *program = "kenc-status";

static int fail(const char *message, const char *detail) {
    fprintf(stderr, "%s: %s%s%s\n", program, message, detail ? ": " : "", detail ? detail : "");
    return 1;
}

static int connect_socket(const char *path) {
    struct sockaddr_un address;
    if (strlen(path) >= sizeof(address.sun_path)) {
        fprintf(stderr, "%s: socket path %s is too long (at most %zu bytes)\n", program, path,
                sizeof(address.sun_path) - 1);
        return -1;
    }
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        fail("socket", strerror(errno));
        return -1;
    }
    memset(&address, 0, sizeof(address));
    address.sun_family = AF_UNIX;
    memcpy(address.sun_path, path, strlen(path) + 1);
    if (connect(fd, (struct sockaddr *)&address, sizeof(address)) != 0) {
        int error = errno;
        if (error == ENOENT || error == ENOTDIR)
            fprintf(stderr, "%s: is ken-agent running? socket %s does not exist\n", program, path);
        else if (error == EACCES || error == EPERM)
            fprintf(stderr, "%s: permission denied on %s: add your user to the socket's group (e.g. ken) or run as root\n",
                    program, path);
        else if (error == ECONNREFUSED)
            fprintf(stderr, "%s: nothing accepts connections on %s (stale socket? is ken-agent running?)\n", program, path);
        else
            fprintf(stderr, "%s: cannot connect to %s: %s\n", program, path, strerror(error));
        close(fd);
        return -1;
    }
    /* A daemon that never answers must not hang us forever. */
    struct timeval timeout = {.tv_sec = 10, .tv_usec = 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
    return fd;
}

static int write_all(int fd, const uint8_t *bytes, size_t count) {
    while (count > 0) {
        ssize_t sent = send(fd, bytes, count, MSG_NOSIGNAL);
        if (sent < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        bytes += sent;
        count -= (size_t)sent;
    }
    return 0;
}

/* Returns 0 on success, -1 on error (errno set), 1 when the peer closed first. */
static int read_all(int fd, uint8_t *bytes, size_t count) {
    while (count > 0) {
        ssize_t got = recv(fd, bytes, count, 0);
        if (got == 0) return 1;
        if (got < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        bytes += got;
        count -= (size_t)got;
    }
    return 0;
}

static size_t encode_varint(uint64_t value, uint8_t *out) {
    size_t n = 0;
    while (value >= 0x80) {
        out[n++] = (uint8_t)(value | 0x80);
        value >>= 7;
    }
    out[n++] = (uint8_t)value;
    return n;
}

/* Reads a varint length: at most 10 bytes, no overflow. 0 ok, -1 error, 1 closed. */
static int read_varint(int fd, uint64_t *value) {
    uint64_t result = 0;
    for (int index = 0; index < 10; index++) {
        uint8_t byte;
        int status = read_all(fd, &byte, 1);
        if (status != 0) return status;
        if (index == 9 && byte > 1) {
            errno = EPROTO;
            return -1;
        }
        result |= (uint64_t)(byte & 0x7f) << (7 * index);
        if ((byte & 0x80) == 0) {
            *value = result;
            return 0;
        }
    }
    errno = EPROTO;
    return -1;
}

static const char *code_name(Ken__V1__Code code) {
    const ProtobufCEnumValue *value = protobuf_c_enum_descriptor_get_value(&ken__v1__code__descriptor, (int)code);
    return value ? value->name : "UNKNOWN_CODE";
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s SOCKET   (e.g. %s /run/ken/agent.sock)\n", program, program);
        return 2;
    }
    const char *path = argv[1];
    int fd = connect_socket(path);
    if (fd < 0) return 1;

    Ken__V1__AgentRequest request = KEN__V1__AGENT_REQUEST__INIT;
    Ken__V1__AgentStatusRequest status_request = KEN__V1__AGENT_STATUS_REQUEST__INIT;
    request.id = REQUEST_ID;
    request.call_case = KEN__V1__AGENT_REQUEST__CALL_STATUS;
    request.status = &status_request;

    size_t body_size = ken__v1__agent_request__get_packed_size(&request);
    uint8_t *frame = malloc(body_size + 10);
    if (!frame) return fail("out of memory", NULL);
    size_t header_size = encode_varint(body_size, frame);
    ken__v1__agent_request__pack(&request, frame + header_size);
    if (write_all(fd, frame, header_size + body_size) != 0) {
        free(frame);
        close(fd);
        return fail("sending the request failed", strerror(errno));
    }
    free(frame);

    uint64_t length = 0;
    int status = read_varint(fd, &length);
    if (status == 1) {
        close(fd);
        return fail("ken-agent closed the connection without answering", NULL);
    }
    if (status != 0) {
        int error = errno;
        close(fd);
        return fail("reading the answer's length failed",
                    error == EAGAIN || error == EWOULDBLOCK ? "timed out after 10 s" : strerror(error));
    }
    if (length > MAX_FRAME_SIZE) {
        close(fd);
        fprintf(stderr, "%s: answer of %llu bytes exceeds the %u-byte frame limit\n", program,
                (unsigned long long)length, MAX_FRAME_SIZE);
        return 1;
    }
    uint8_t *body = malloc(length > 0 ? (size_t)length : 1);
    if (!body) return fail("out of memory", NULL);
    status = read_all(fd, body, (size_t)length);
    close(fd);
    if (status != 0) {
        free(body);
        return fail("reading the answer failed", status == 1 ? "connection closed inside a frame" : strerror(errno));
    }
    Ken__V1__AgentResponse *response = ken__v1__agent_response__unpack(NULL, (size_t)length, body);
    free(body);
    if (!response) return fail("the answer is not a valid ken.v1.AgentResponse", NULL);

    int exit_code = 0;
    Ken__V1__Code code = response->status ? response->status->code : KEN__V1__CODE__OK;
    const char *message = response->status && response->status->message ? response->status->message : "";
    if (code != KEN__V1__CODE__OK) {
        fprintf(stderr, "%s: ken-agent answered %s: %s\n", program, code_name(code), message);
        exit_code = 1;
    } else if (response->id != REQUEST_ID) {
        fprintf(stderr, "%s: answer carries id %llu, expected %d\n", program, (unsigned long long)response->id, REQUEST_ID);
        exit_code = 1;
    } else if (response->result_case != KEN__V1__AGENT_RESPONSE__RESULT_STATUS_REPLY || !response->status_reply) {
        fprintf(stderr, "%s: answer holds no status reply\n", program);
        exit_code = 1;
    } else {
        const Ken__V1__AgentStatusReply *reply = response->status_reply;
        printf("version: %s\n", reply->version);
        printf("kernel_release: %s\n", reply->kernel_release);
        printf("bpftrace_version: %s\n", reply->bpftrace_version);
        printf("extensions_total: %u\n", reply->extensions_total);
        printf("extensions_attached: %u\n", reply->extensions_attached);
        printf("extensions_failed: %u\n", reply->extensions_failed);
        printf("uptime_seconds: %.3f\n", reply->uptime_seconds);
        printf("pid: %d\n", reply->pid);
        printf("peer_uid: %u\n", reply->peer_uid);
        printf("peer_gid: %u\n", reply->peer_gid);
        printf("peer_pid: %d\n", reply->peer_pid);
    }
    ken__v1__agent_response__free_unpacked(response, NULL);
    return exit_code;
}
