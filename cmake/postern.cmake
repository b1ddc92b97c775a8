# Shared compile settings for every Postern target.
add_library(postern_options INTERFACE)
target_compile_options(postern_options INTERFACE -Wall -Wextra -Wno-unused-parameter)
target_compile_definitions(postern_options INTERFACE
  BOOST_ASIO_NO_DEPRECATED SPDLOG_FMT_EXTERNAL)
if(POSTERN_SANITIZE)
  target_compile_options(postern_options INTERFACE
    -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  target_link_options(postern_options INTERFACE -fsanitize=address,undefined)
endif()
if(POSTERN_FUZZ)
  target_compile_options(postern_options INTERFACE -fsanitize=fuzzer-no-link,address,undefined)
  target_link_options(postern_options INTERFACE -fsanitize=address,undefined)
endif()

# postern_embed_files(OUT var FILES ...) turns text files into a generated .cpp holding
# std::string_view constants; used for SQL migrations and the OpenAPI document.
function(postern_embed_sql target)
  cmake_parse_arguments(E "" "NAMESPACE;OUTPUT" "FILES" ${ARGN})
  set(gen "${CMAKE_CURRENT_BINARY_DIR}/${E_OUTPUT}")
  # A list cannot cross the shell intact: pass it with '|' between the files.
  string(REPLACE ";" "|" files_arg "${E_FILES}")
  add_custom_command(OUTPUT ${gen}
    COMMAND ${CMAKE_COMMAND} -DOUT=${gen} -DNS=${E_NAMESPACE} "-DFILES=${files_arg}"
            -P ${PROJECT_SOURCE_DIR}/cmake/embed.cmake
    VERBATIM
    DEPENDS ${E_FILES} ${PROJECT_SOURCE_DIR}/cmake/embed.cmake
    COMMENT "Embedding ${E_OUTPUT}")
  target_sources(${target} PRIVATE ${gen})
endfunction()
