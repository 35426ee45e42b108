# The optional Python module `chickenseg` (docs/python.md): the C++ engine bound with nanobind
# (src/python/), beside the pure-Python part of the package (python/chickenseg_py/chickenseg/).
#
# CHICKENSEG_BUILD_PYTHON = AUTO (on when Python 3 with its development files and nanobind are
# found), ON (not found is an error), OFF. The interpreter is the project's .venv when there is
# one and none was named (Python_EXECUTABLE), so the module matches the Python that imports it.
# Included after the runtime's targets: it links chickenseg_runtime and, in a wheel, installs the
# LibTorch backend plugin beside the module.
#
# Two ways it is built:
# - The top-level build (scripts/setup): the package is assembled in <build>/python/chickenseg/
#   (the .py files copied, the module beside them); the module remembers <build>, where the
#   backend plugin is, and scripts/setup puts <build>/python on .venv's path (a .pth file).
# - A wheel (python/chickenseg_py/pyproject.toml, scikit-build-core sets SKBUILD): the module
#   and the plugin are installed into the package folder (component `python`); the plugin's
#   RUNPATH is $ORIGIN/../torch/lib, the torch wheel's libraries in the same site-packages.

set(CHICKENSEG_BUILD_PYTHON AUTO CACHE STRING "Build the Python module chickenseg: AUTO, ON or OFF")
set_property(CACHE CHICKENSEG_BUILD_PYTHON PROPERTY STRINGS AUTO ON OFF)
string(TOUPPER "${CHICKENSEG_BUILD_PYTHON}" _chickenseg_build_python)
if(NOT _chickenseg_build_python MATCHES "^(AUTO|ON|OFF)$")
  message(FATAL_ERROR "CHICKENSEG_BUILD_PYTHON=${CHICKENSEG_BUILD_PYTHON}: expected AUTO, ON or OFF")
endif()

# Recorded in CMakeCache.txt, where the Python tests read whether the module was meant to be
# built (a skip is honest only when it was not).
set(CHICKENSEG_PYTHON_ENABLED OFF)
set(CHICKENSEG_PYTHON_ENABLED_RESULT OFF CACHE INTERNAL "Python module built")
if(_chickenseg_build_python STREQUAL "OFF")
  message(STATUS "chickenseg: Python module off (CHICKENSEG_BUILD_PYTHON=OFF)")
  return()
endif()

if(NOT Python_EXECUTABLE AND NOT Python_ROOT_DIR AND EXISTS "${CMAKE_SOURCE_DIR}/.venv/bin/python")
  set(Python_EXECUTABLE "${CMAKE_SOURCE_DIR}/.venv/bin/python")
endif()
find_package(Python 3.9 COMPONENTS Interpreter Development.Module QUIET)
set(_chickenseg_python_missing "")
if(NOT Python_FOUND)
  set(_chickenseg_python_missing "Python 3 with its development files (python3-dev)")
else()
  execute_process(COMMAND "${Python_EXECUTABLE}" -m nanobind --cmake_dir
                  OUTPUT_VARIABLE _chickenseg_nanobind_dir OUTPUT_STRIP_TRAILING_WHITESPACE
                  RESULT_VARIABLE _chickenseg_nanobind_rc ERROR_QUIET)
  if(_chickenseg_nanobind_rc EQUAL 0)
    find_package(nanobind CONFIG QUIET HINTS "${_chickenseg_nanobind_dir}")
  endif()
  if(NOT nanobind_FOUND)
    set(_chickenseg_python_missing "nanobind in ${Python_EXECUTABLE} (pip install -r python/requirements.txt)")
  endif()
endif()
if(_chickenseg_python_missing)
  if(_chickenseg_build_python STREQUAL "ON")
    message(FATAL_ERROR "CHICKENSEG_BUILD_PYTHON=ON but ${_chickenseg_python_missing} was not found; "
                        "configure with -DCHICKENSEG_BUILD_PYTHON=OFF to build without the Python module")
  endif()
  message(STATUS "chickenseg: Python module not built: ${_chickenseg_python_missing} not found")
  return()
endif()
set(CHICKENSEG_PYTHON_ENABLED ON)
set(CHICKENSEG_PYTHON_ENABLED_RESULT ON CACHE INTERNAL "Python module built")
message(STATUS "chickenseg: Python module for ${Python_EXECUTABLE} (${Python_VERSION}), nanobind ${nanobind_VERSION}")

file(GLOB _chickenseg_python_src CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/src/python/*.cpp)
file(GLOB _chickenseg_python_py CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/python/chickenseg_py/chickenseg/*.py)
set(_chickenseg_python_dir ${CMAKE_BINARY_DIR}/python/chickenseg)

# NB_STATIC: nanobind's own runtime linked into the module (one module, nothing to share).
nanobind_add_module(chickenseg_python NB_STATIC ${_chickenseg_python_src})
target_include_directories(chickenseg_python PRIVATE ${CMAKE_SOURCE_DIR}/include ${CMAKE_SOURCE_DIR}/src)
target_link_libraries(chickenseg_python PRIVATE chickenseg_runtime)
# Only PyInit__chickenseg is exported; the engine's code stays private to the module.
target_link_options(chickenseg_python PRIVATE -Wl,--exclude-libs,ALL)
set_target_properties(chickenseg_python PROPERTIES OUTPUT_NAME _chickenseg LIBRARY_OUTPUT_DIRECTORY ${_chickenseg_python_dir})

if(SKBUILD)
  install(TARGETS chickenseg_python LIBRARY DESTINATION chickenseg COMPONENT python)
  if(TARGET chickenseg_torch_plugin)
    set_target_properties(chickenseg_torch_plugin PROPERTIES INSTALL_RPATH "$ORIGIN/../torch/lib")
    install(TARGETS chickenseg_torch_plugin LIBRARY DESTINATION chickenseg COMPONENT python)
  endif()
else()
  # The development build: the plugin stays in the build folder, beside the chickenseg tool.
  target_compile_definitions(chickenseg_python PRIVATE CHICKENSEG_PYTHON_BUILD_PLUGIN_DIR="${CMAKE_BINARY_DIR}")
  set(_chickenseg_python_copies "")
  foreach(_py ${_chickenseg_python_py})
    get_filename_component(_name "${_py}" NAME)
    add_custom_command(OUTPUT ${_chickenseg_python_dir}/${_name}
                       COMMAND ${CMAKE_COMMAND} -E copy_if_different ${_py} ${_chickenseg_python_dir}/${_name}
                       DEPENDS ${_py} VERBATIM)
    list(APPEND _chickenseg_python_copies ${_chickenseg_python_dir}/${_name})
  endforeach()
  add_custom_target(chickenseg_python_files DEPENDS ${_chickenseg_python_copies})
  add_dependencies(chickenseg_python chickenseg_python_files)
  if(TARGET chickenseg_torch_plugin)
    add_dependencies(chickenseg_python chickenseg_torch_plugin)
  endif()
endif()
