# find_package(aicache) against an installed SDK (cmake --install): headers under <prefix>/include.
include_guard(GLOBAL)
get_filename_component(_aicache_prefix "${CMAKE_CURRENT_LIST_DIR}/../../.." ABSOLUTE)
if(NOT TARGET aicache::plugin_api)
  add_library(aicache::plugin_api INTERFACE IMPORTED)
  set_target_properties(aicache::plugin_api PROPERTIES
    INTERFACE_INCLUDE_DIRECTORIES "${_aicache_prefix}/include"
    INTERFACE_COMPILE_FEATURES cxx_std_20)
endif()
include("${CMAKE_CURRENT_LIST_DIR}/AicachePlugin.cmake")
set(aicache_INCLUDE_DIRS "${_aicache_prefix}/include")
unset(_aicache_prefix)
