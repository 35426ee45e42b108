/* Test helper for tests/python/test_stream.py: an RTSP server on 127.0.0.1 (gst-rtsp-server)
 * serving a folder of PNG frames as H.264 at a fixed rate, once per client, at
 * rtsp://127.0.0.1:PORT/barn. Prints "ready" when it listens; SIGTERM ends it (a camera that
 * goes away), and starting it again on the same port brings the camera back.
 *
 *   rtsp_server PORT 'frames/f%04d.png' FPS */
#include <gst/gst.h>
#include <gst/rtsp-server/rtsp-server.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char** argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: rtsp_server PORT PNG_PATTERN FPS\n");
        return 2;
    }
    gst_init(&argc, &argv);
    GMainLoop* loop = g_main_loop_new(NULL, FALSE);
    GstRTSPServer* server = gst_rtsp_server_new();
    gst_rtsp_server_set_address(server, "127.0.0.1");
    gst_rtsp_server_set_service(server, argv[1]);
    GstRTSPMountPoints* mounts = gst_rtsp_server_get_mount_points(server);
    GstRTSPMediaFactory* factory = gst_rtsp_media_factory_new();
    /* Only plugins of -base, -good and -ugly: PNG decoding, x264 (ugly), RTP payloading (good). */
    gchar* launch = g_strdup_printf(
        "( multifilesrc location=%s index=0 caps=image/png,framerate=%s/1 ! pngdec ! videoconvert ! "
        "video/x-raw,format=I420 ! x264enc tune=zerolatency speed-preset=ultrafast key-int-max=10 ! "
        "rtph264pay name=pay0 pt=96 config-interval=1 )",
        argv[2], argv[3]);
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
