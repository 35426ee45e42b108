# The optional LibTorch dependency of the runtime's AOTInductor engine.
#
# CHICKENSEG_WITH_TORCH = AUTO (on when Torch is found), ON (not found is an error), OFF.
# Torch is found the ordinary way (Torch_DIR or CMAKE_PREFIX_PATH); scripts/setup passes the
# project virtualenv's `torch.utils.cmake_prefix_path`. Sets CHICKENSEG_TORCH_ENABLED and, when
# enabled, CHICKENSEG_TORCH_LIB_DIR (the folder holding libtorch*.so, for RPATH).
#
# Why `torch::cudart` is defined here: a CUDA build of torch (the PyPI wheel) runs
# Caffe2/public/cuda.cmake from its config, which enables the CUDA language and looks for a
# full CUDA toolkit (nvcc, headers, libcudart). Without one it stops configuring with a
# FATAL_ERROR ("uses CUDA but I cannot find the CUDA libraries") that AUTO cannot catch; with
# nvcc installed outside /usr/local/cuda/bin it still fails (FindCUDA misses the headers).
# chickenseg compiles no CUDA code: it reaches CUDA only through libtorch_cuda.so, which finds
# the wheel's own libcudart through its RUNPATH. cuda.cmake starts with "if(TARGET
# torch::cudart) return()" (its include guard), so an empty torch::cudart makes configuring
# the same on a GPU machine, a CPU machine with nvcc and a machine without any CUDA, and links
# libtorch_cuda.so as usual (so CUDA packages still run where there is a GPU).

set(CHICKENSEG_WITH_TORCH AUTO CACHE STRING "Build the LibTorch runtime engine: AUTO, ON or OFF")
set_property(CACHE CHICKENSEG_WITH_TORCH PROPERTY STRINGS AUTO ON OFF)
string(TOUPPER "${CHICKENSEG_WITH_TORCH}" _chickenseg_with_torch)
if(NOT _chickenseg_with_torch MATCHES "^(AUTO|ON|OFF)$")
  message(FATAL_ERROR "CHICKENSEG_WITH_TORCH=${CHICKENSEG_WITH_TORCH}: expected AUTO, ON or OFF")
endif()

set(CHICKENSEG_TORCH_ENABLED OFF)
if(_chickenseg_with_torch STREQUAL "OFF")
  message(STATUS "chickenseg: LibTorch off (CHICKENSEG_WITH_TORCH=OFF); the runtime engine and run-package are not built")
else()
  if(NOT TARGET torch::cudart)
    add_library(torch::cudart INTERFACE IMPORTED)
  endif()
  find_package(Torch CONFIG QUIET)
  if(Torch_FOUND AND TARGET torch)
    set(CHICKENSEG_TORCH_ENABLED ON)
    get_filename_component(CHICKENSEG_TORCH_LIB_DIR "${TORCH_LIBRARY}" DIRECTORY)
    # TORCH_CXX_FLAGS is torch's required compile flags (-D_GLIBCXX_USE_CXX11_ABI=0/1 in
    # older releases); TorchConfig puts it on the `torch` target, and this repeats it on every
    # chickenseg target, because a library whose std::string ABI differs from libtorch's
    # cannot pass strings to it. Torch 2.14's wheels use the CXX11 ABI (the compiler's
    # default) and leave TORCH_CXX_FLAGS empty.
    if(TORCH_CXX_FLAGS)
      separate_arguments(_chickenseg_torch_flags UNIX_COMMAND "${TORCH_CXX_FLAGS}")
      add_compile_options(${_chickenseg_torch_flags})
    endif()
    # CUDA's runtime headers, for device memory statistics (c10/cuda). A CUDA build of torch
    # brings them in its nvidia-* wheels; a CUDA toolkit has them too. Without them the plugin
    # reports device memory as unknown.
    get_filename_component(_chickenseg_site "${CHICKENSEG_TORCH_LIB_DIR}/../.." ABSOLUTE)
    file(GLOB _chickenseg_cuda_hints "${_chickenseg_site}/nvidia/*/include" "${_chickenseg_site}/nvidia/cuda_runtime/include")
    # crt/host_config.h: cuda_runtime.h needs it, and the runtime wheel alone lacks it.
    find_path(CHICKENSEG_TORCH_CUDA_INCLUDE_DIR NAMES cuda_runtime_api.h crt/host_config.h
              HINTS /usr/local/cuda/include ${_chickenseg_cuda_hints} NO_DEFAULT_PATH)
    if(CHICKENSEG_TORCH_CUDA_INCLUDE_DIR AND NOT EXISTS "${CHICKENSEG_TORCH_CUDA_INCLUDE_DIR}/crt/host_config.h")
      set(CHICKENSEG_TORCH_CUDA_INCLUDE_DIR "" CACHE PATH "" FORCE)
    endif()
    if(NOT EXISTS "${CHICKENSEG_TORCH_LIB_DIR}/libc10_cuda.so")
      set(CHICKENSEG_TORCH_CUDA_INCLUDE_DIR "" CACHE PATH "" FORCE)  # a CPU-only torch
    endif()
    message(STATUS "chickenseg: LibTorch ${Torch_VERSION} from ${CHICKENSEG_TORCH_LIB_DIR}"
                   " (TORCH_CXX_FLAGS: '${TORCH_CXX_FLAGS}')")
  elseif(_chickenseg_with_torch STREQUAL "ON")
    message(FATAL_ERROR
      "CHICKENSEG_WITH_TORCH=ON but Torch was not found: pass its CMake folder, e.g.\n"
      "  -DCMAKE_PREFIX_PATH=$(.venv/bin/python -c 'import torch; print(torch.utils.cmake_prefix_path)')\n"
      "(scripts/setup does), or configure with -DCHICKENSEG_WITH_TORCH=OFF")
  else()
    message(STATUS "chickenseg: LibTorch not found; the runtime engine and run-package are not built "
                   "(set CMAKE_PREFIX_PATH to torch.utils.cmake_prefix_path to build them)")
  endif()
endif()

# Recorded in CMakeCache.txt, where the Python tests read whether run-package was meant to be
# built (a skip is honest only when it was not).
set(CHICKENSEG_TORCH_ENABLED_RESULT ${CHICKENSEG_TORCH_ENABLED} CACHE INTERNAL "LibTorch runtime built")
