/* SPDX-License-Identifier: MIT */
/*
 * imgprobe: a tiny decoder for the integration tests. `imgprobe FILE`
 * prints "FORMAT W H BANDS"; `imgprobe FILE X Y` prints the band values of
 * one pixel; `imgprobe --psnr A B` prints the PSNR (dB) of two same-size
 * images over all bands. Decodes JPEG (libjpeg) and PNG (libpng, 8-bit).
 */
#include "config.h"

#include <math.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <png.h>

typedef struct {
    const char    *format;
    unsigned       w, h;
    int            bands;
    unsigned char *data;
} probe_img_t;

typedef struct {
    struct jpeg_error_mgr pub;
    jmp_buf               jmp;
} probe_jerr_t;

static void
probe_jpeg_exit(j_common_ptr cinfo)
{
    longjmp(((probe_jerr_t *) cinfo->err)->jmp, 1);
}

static int
probe_jpeg(FILE *fp, probe_img_t *img)
{
    struct jpeg_decompress_struct cinfo;
    probe_jerr_t                  jerr;

    cinfo.err = jpeg_std_error(&jerr.pub);
    jerr.pub.error_exit = probe_jpeg_exit;
    if (setjmp(jerr.jmp)) {
        jpeg_destroy_decompress(&cinfo);
        return -1;
    }
    jpeg_create_decompress(&cinfo);
    jpeg_stdio_src(&cinfo, fp);
    jpeg_read_header(&cinfo, TRUE);
    if (cinfo.num_components != 1) {
        cinfo.out_color_space = JCS_RGB;
    }
    jpeg_start_decompress(&cinfo);
    img->format = "jpeg";
    img->w = cinfo.output_width;
    img->h = cinfo.output_height;
    img->bands = cinfo.output_components;
    img->data = malloc((size_t) img->w * img->h * img->bands);
    if (img->data == NULL) {
        jpeg_destroy_decompress(&cinfo);
        return -1;
    }
    while (cinfo.output_scanline < cinfo.output_height) {
        JSAMPROW row = img->data + (size_t) cinfo.output_scanline * img->w
                                   * img->bands;

        jpeg_read_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_decompress(&cinfo);
    jpeg_destroy_decompress(&cinfo);
    return 0;
}

static int
probe_png(FILE *fp, probe_img_t *img)
{
    png_structp png;
    png_infop   info;
    png_bytep  *rows = NULL;

    png = png_create_read_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    info = png != NULL ? png_create_info_struct(png) : NULL;
    if (info == NULL) {
        return -1;
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_read_struct(&png, &info, NULL);
        free(rows);
        return -1;
    }
    png_init_io(png, fp);
    png_read_info(png, info);
    png_set_expand(png);
    png_set_strip_16(png);
    png_read_update_info(png, info);
    img->format = "png";
    img->w = png_get_image_width(png, info);
    img->h = png_get_image_height(png, info);
    img->bands = png_get_channels(png, info);
    img->data = malloc((size_t) img->w * img->h * img->bands);
    rows = malloc(img->h * sizeof(*rows));
    if (img->data == NULL || rows == NULL) {
        png_destroy_read_struct(&png, &info, NULL);
        free(rows);
        return -1;
    }
    for (unsigned y = 0; y < img->h; y++) {
        rows[y] = img->data + (size_t) y * img->w * img->bands;
    }
    png_read_image(png, rows);
    png_read_end(png, NULL);
    png_destroy_read_struct(&png, &info, NULL);
    free(rows);
    return 0;
}

static int
probe_load(const char *path, probe_img_t *img)
{
    unsigned char magic[8];
    FILE         *fp = fopen(path, "rb");
    int           rc = -1;

    memset(img, 0, sizeof(*img));
    if (fp == NULL) {
        fprintf(stderr, "imgprobe: cannot open %s\n", path);
        return -1;
    }
    if (fread(magic, 1, 8, fp) == 8) {
        rewind(fp);
        if (magic[0] == 0xff && magic[1] == 0xd8) {
            rc = probe_jpeg(fp, img);
        } else if (png_sig_cmp(magic, 0, 8) == 0) {
            rc = probe_png(fp, img);
        }
    }
    fclose(fp);
    if (rc != 0) {
        fprintf(stderr, "imgprobe: cannot decode %s\n", path);
    }
    return rc;
}

int
main(int argc, char **argv)
{
    probe_img_t a, b;

    if (argc == 4 && strcmp(argv[1], "--psnr") == 0) {
        double se = 0.0;
        size_t n;

        if (probe_load(argv[2], &a) != 0 || probe_load(argv[3], &b) != 0) {
            return 1;
        }
        if (a.w != b.w || a.h != b.h || a.bands != b.bands) {
            fprintf(stderr, "imgprobe: images differ in size or bands\n");
            return 1;
        }
        n = (size_t) a.w * a.h * a.bands;
        for (size_t i = 0; i < n; i++) {
            double d = (double) a.data[i] - b.data[i];

            se += d * d;
        }
        if (se == 0.0) {
            printf("inf\n");
        } else {
            printf("%.3f\n", 10.0 * log10(255.0 * 255.0 / (se / n)));
        }
        free(a.data);
        free(b.data);
        return 0;
    }
    if (argc == 2 || argc == 4) {
        if (probe_load(argv[1], &a) != 0) {
            return 1;
        }
        if (argc == 2) {
            printf("%s %u %u %d\n", a.format, a.w, a.h, a.bands);
        } else {
            unsigned long x = strtoul(argv[2], NULL, 10);
            unsigned long y = strtoul(argv[3], NULL, 10);

            if (x >= a.w || y >= a.h) {
                fprintf(stderr, "imgprobe: pixel outside the image\n");
                return 1;
            }
            for (int i = 0; i < a.bands; i++) {
                printf(i ? " %u" : "%u",
                       a.data[((size_t) y * a.w + x) * a.bands + i]);
            }
            printf("\n");
        }
        free(a.data);
        return 0;
    }
    fprintf(stderr, "usage: imgprobe FILE [X Y] | imgprobe --psnr A B\n");
    return 2;
}
