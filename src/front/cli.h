/* SPDX-License-Identifier: MIT */
/*
 * cli: the command-line tools in the vellum binary, over the same code path
 * as the server:
 *   vellum info FILE                                   pyramid structure
 *   vellum render FILE 'region/size/rotation/quality.format' -o OUT
 *   vellum purge ID [--config FILE]                    drop ID from memcached
 *   vellum scan [--config FILE]                        Change Discovery scan
 *   vellum convert IN OUT.tif|OUT.jp2 [options]        pyramid TIFF / JP2
 * Each returns a process exit status (0 ok, 1 failure, 2 usage).
 */
#ifndef VL_CLI_H
#define VL_CLI_H

int vl_cli_info(int argc, char **argv);
int vl_cli_render(int argc, char **argv);

/* Bump ID's generation in memcached (every cached response of ID misses
 * afterwards). 1 if memcached is not configured or unreachable. */
int vl_cli_purge(int argc, char **argv);

/* Compare the tree with the Change Discovery log and append what changed
 * (present/scan.h); prints one summary line. 1 on any error (STATE_DIR not
 * set, another scan running, a damaged log). */
int vl_cli_scan(int argc, char **argv);

/* `vellum convert IN OUT.tif|OUT.jp2 [options]`: a tiled pyramid TIFF
 * and/or JPEG 2000 from any image vellum reads. 0, 1 (failed), 2 (usage). */
int vl_cli_convert(int argc, char **argv);

#endif /* VL_CLI_H */
