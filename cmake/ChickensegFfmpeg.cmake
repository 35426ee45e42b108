# FFmpeg's libraries for `chickenseg stream` (Debian's libavformat-dev, libavcodec-dev,
# libswscale-dev, libavutil-dev, libavdevice-dev), found with pkg-config.
# CHICKENSEG_WITH_FFMPEG = AUTO (on when found), ON (an error when missing) or OFF.
# Sets CHICKENSEG_FFMPEG_ENABLED and, when on, the imported target PkgConfig::FFMPEG and
# AVDEVICE_INCLUDE_DIRS. libavdevice is not linked: the tool loads it at run time (video_source.cpp
# says why), so only its headers are needed at build time.
set(CHICKENSEG_WITH_FFMPEG AUTO CACHE STRING "Build chickenseg stream with FFmpeg: AUTO, ON or OFF")
set_property(CACHE CHICKENSEG_WITH_FFMPEG PROPERTY STRINGS AUTO ON OFF)
string(TOUPPER "${CHICKENSEG_WITH_FFMPEG}" _chickenseg_with_ffmpeg)
set(CHICKENSEG_FFMPEG_ENABLED OFF)
if(_chickenseg_with_ffmpeg STREQUAL "OFF")
  message(STATUS "chickenseg: stream without FFmpeg (CHICKENSEG_WITH_FFMPEG=OFF)")
elseif(_chickenseg_with_ffmpeg STREQUAL "AUTO" OR _chickenseg_with_ffmpeg STREQUAL "ON")
  pkg_check_modules(FFMPEG QUIET IMPORTED_TARGET libavformat libavcodec libswscale libavutil)
  pkg_check_modules(AVDEVICE QUIET libavdevice)
  if(FFMPEG_FOUND AND AVDEVICE_FOUND)
    set(CHICKENSEG_FFMPEG_ENABLED ON)
    message(STATUS "chickenseg: stream with FFmpeg (libavformat ${FFMPEG_libavformat_VERSION})")
  elseif(_chickenseg_with_ffmpeg STREQUAL "ON")
    message(FATAL_ERROR "CHICKENSEG_WITH_FFMPEG=ON but pkg-config did not find libavformat, libavcodec, "
                        "libswscale, libavutil and libavdevice (Debian: libavformat-dev libavcodec-dev "
                        "libswscale-dev libavutil-dev libavdevice-dev)")
  else()
    message(STATUS "chickenseg: stream without FFmpeg (pkg-config did not find its libraries)")
  endif()
else()
  message(FATAL_ERROR "CHICKENSEG_WITH_FFMPEG=${CHICKENSEG_WITH_FFMPEG}: expected AUTO, ON or OFF")
endif()
