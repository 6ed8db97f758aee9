# aicache_add_plugin(NAME KIND policy|learner|optimizer SOURCES file.cpp... [LIBRARIES lib...])
#
# Builds a plugin library the aicache host can load: only the entry symbol exported, no
# GNU-unique symbols (they would keep the library mapped forever), every symbol resolved at
# link time (-z defs: a plugin needs nothing from the host; the host API is a table).
# In the aicache tree the plugin lands in <build>/plugins/NAME.so and is registered with its
# kind's conformance suite.
include_guard(GLOBAL)

function(aicache_add_plugin name)
  cmake_parse_arguments(PLUGIN "" "KIND" "SOURCES;LIBRARIES" ${ARGN})
  if(NOT PLUGIN_KIND MATCHES "^(policy|learner|optimizer)$")
    message(FATAL_ERROR "aicache_add_plugin(${name}): KIND must be policy, learner or optimizer")
  endif()
  if(NOT PLUGIN_SOURCES)
    message(FATAL_ERROR "aicache_add_plugin(${name}): SOURCES is required")
  endif()
  add_library(${name} MODULE ${PLUGIN_SOURCES})
  target_link_libraries(${name} PRIVATE aicache::plugin_api ${PLUGIN_LIBRARIES})
  target_compile_features(${name} PRIVATE cxx_std_20)
  set_target_properties(${name} PROPERTIES
    PREFIX ""
    OUTPUT_NAME ${name}
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON
    AICACHE_KIND ${PLUGIN_KIND})
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    target_compile_options(${name} PRIVATE -fno-gnu-unique)
  endif()
  target_link_options(${name} PRIVATE -Wl,-z,defs)
  if(AICACHE_PLUGIN_OUTPUT_DIR)
    set_target_properties(${name} PROPERTIES LIBRARY_OUTPUT_DIRECTORY ${AICACHE_PLUGIN_OUTPUT_DIR})
  endif()
  if(AICACHE_IN_TREE)
    set_property(GLOBAL APPEND PROPERTY AICACHE_PLUGINS_${PLUGIN_KIND} ${name})
  endif()
endfunction()
