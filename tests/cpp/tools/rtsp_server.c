/* Test helper for tests/python/test_stream.py: an RTSP server on 127.0.0.1 (gst-rtsp-server)
 * serving a folder of PNG or JPEG frames (by the pattern's extension) as H.264 at a fixed rate,
 * once per client, at rtsp://127.0.0.1:PORT/barn. Prints "ready" when it listens; SIGTERM ends
 * it (a camera that goes away), and starting it again on the same port brings the camera back.
 *
 *   rtsp_server PORT 'frames/f%04d.png' FPS [FIRST]   (FIRST: the first file's number, default 0) */
#include <gst/gst.h>
#include <gst/rtsp-server/rtsp-server.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char** argv) {
    if (argc != 4 && argc != 5) {
        fprintf(stderr, "usage: rtsp_server PORT IMAGE_PATTERN FPS [FIRST]\n");
        return 2;
    }
    const char* first = argc == 5 ? argv[4] : "0";
    gst_init(&argc, &argv);
    GMainLoop* loop = g_main_loop_new(NULL, FALSE);
    GstRTSPServer* server = gst_rtsp_server_new();
    gst_rtsp_server_set_address(server, "127.0.0.1");
    gst_rtsp_server_set_service(server, argv[1]);
    GstRTSPMountPoints* mounts = gst_rtsp_server_get_mount_points(server);
    GstRTSPMediaFactory* factory = gst_rtsp_media_factory_new();
    /* Only plugins of -base, -good and -ugly: PNG and JPEG decoding, x264 (ugly), RTP payloading
     * (good). */
    const char* dot = strrchr(argv[2], '.');
    const int jpeg = dot && (strcmp(dot, ".jpg") == 0 || strcmp(dot, ".jpeg") == 0);
    gchar* launch = g_strdup_printf(
        "( multifilesrc location=%s index=%s caps=%s,framerate=%s/1 ! %s ! videoconvert ! "
        "video/x-raw,format=I420 ! x264enc tune=zerolatency speed-preset=ultrafast key-int-max=10 ! "
        "rtph264pay name=pay0 pt=96 config-interval=1 )",
        argv[2], first, jpeg ? "image/jpeg" : "image/png", argv[3], jpeg ? "jpegdec" : "pngdec");
    gst_rtsp_media_factory_set_launch(factory, launch);
    g_free(launch);
    gst_rtsp_mount_points_add_factory(mounts, "/barn", factory);
    g_object_unref(mounts);
    if (gst_rtsp_server_attach(server, NULL) == 0) {
        fprintf(stderr, "rtsp_server: cannot listen on 127.0.0.1:%s\n", argv[1]);
        return 1;
    }
    printf("ready\n");
    fflush(stdout);
    g_main_loop_run(loop);
    return 0;
}
