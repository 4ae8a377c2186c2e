# hf_embed_assets(<target> NAME <function> [NAMESPACE <ns>] BASE_DIR <dir> FILES <file>...)
#
# Compiles files into <target> as a static-asset table for the HTTP server: defines
#   const hf::http::AssetTable& <ns>::<function>();
# whose assets are served at "/<file>" (the path relative to BASE_DIR), with an ETag made
# from each file's SHA-256. The table is generated at build time, so editing a file rebuilds
# it without re-running CMake. Declare the function in a header of your own.
function(hf_embed_assets target)
  cmake_parse_arguments(A "" "NAME;NAMESPACE;BASE_DIR" "FILES" ${ARGN})
  if(NOT A_NAME OR NOT A_BASE_DIR OR NOT A_FILES)
    message(FATAL_ERROR "hf_embed_assets: NAME, BASE_DIR and FILES are required")
  endif()
  get_filename_component(base ${A_BASE_DIR} ABSOLUTE)
  set(script ${CMAKE_CURRENT_FUNCTION_LIST_DIR}/embed_assets_gen.cmake)
  set(out ${CMAKE_CURRENT_BINARY_DIR}/${A_NAME}.cpp)
  set(deps)
  foreach(f IN LISTS A_FILES)
    list(APPEND deps ${base}/${f})
  endforeach()
  # '|' instead of ';' so the list survives the trip through the command line.
  string(REPLACE ";" "|" files "${A_FILES}")
  add_custom_command(
    OUTPUT ${out}
    COMMAND ${CMAKE_COMMAND} -DOUT=${out} -DBASE_DIR=${base} -DFILES=${files} -DNAME=${A_NAME}
            -DNAMESPACE=${A_NAMESPACE} -P ${script}
    DEPENDS ${deps} ${script}
    COMMENT "Embedding ${A_NAME} assets"
    VERBATIM)
  target_sources(${target} PRIVATE ${out})
endfunction()
