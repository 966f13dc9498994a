/* process.c: the standard process_* metrics, read from /proc/self when a
 * scrape asks for them (a few small file reads), so nothing runs in the
 * background and the values are as fresh as the scrape.
 */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "pdm_monitor.h"

/* Reads a small /proc file into buf (NUL-terminated). Returns 0 or -1. */
static int read_small(const char *path, char *buf, size_t cap)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, cap - 1, f);
    int bad = ferror(f);
    fclose(f);
    if (bad)
        return -1;
    buf[n] = '\0';
    return 0;
}

/* Seconds since the epoch at which the system booted ("btime" in /proc/stat). */
static int boot_time(double *out)
{
    int rc = -1;
    FILE *f = fopen("/proc/stat", "r");
    if (!f)
        return -1;
    char line[512];
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "btime ", 6) == 0) {
            *out = strtod(line + 6, NULL);
            rc = 0;
            break;
        }
    }
    fclose(f);
    return rc;
}

static int count_fds(double *out)
{
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return -1;
    double n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    *out = n - 1; /* the directory stream's own descriptor */
    return 0;
}

int pdm_process_stats_read(pdm_process_stats *out, char *errstr, size_t errlen)
{
    char stat[1024];
    memset(out, 0, sizeof *out);
    if (read_small("/proc/self/stat", stat, sizeof stat))
        return pdm_err(errstr, errlen, "/proc/self/stat: %s", strerror(errno));
    /* The command name (field 2) may hold spaces and parentheses: fields
     * are counted from the last ')'. Field k (1-based) is token k - 3. */
    const char *p = strrchr(stat, ')');
    if (!p)
        return pdm_err(errstr, errlen, "/proc/self/stat: unexpected format");
    p++;
    unsigned long long field[25] = {0};
    for (int k = 3; k <= 24; k++) {
        while (*p == ' ')
            p++;
        if (!*p)
            return pdm_err(errstr, errlen, "/proc/self/stat: only %d fields", k - 1);
        char *end;
        field[k] = strtoull(p, &end, 10);
        p = end;
        while (*p && *p != ' ')
            p++;
    }
    double ticks = (double)sysconf(_SC_CLK_TCK);
    double page = (double)sysconf(_SC_PAGESIZE);
    double btime;
    if (ticks <= 0 || page <= 0 || boot_time(&btime))
        return pdm_err(errstr, errlen, "cannot read the clock tick, page size or boot time");
    out->cpu_seconds = (double)(field[14] + field[15]) / ticks; /* utime + stime */
    out->start_time_seconds = btime + (double)field[22] / ticks;
    out->virtual_bytes = (double)field[23];
    out->resident_bytes = (double)field[24] * page;
    if (count_fds(&out->open_fds))
        return pdm_err(errstr, errlen, "/proc/self/fd: %s", strerror(errno));
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl))
        return pdm_err(errstr, errlen, "getrlimit: %s", strerror(errno));
    out->max_fds = rl.rlim_cur == RLIM_INFINITY ? (double)INT64_MAX : (double)rl.rlim_cur;
    return 0;
}
