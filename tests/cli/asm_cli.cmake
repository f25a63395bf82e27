# npu as / npu disasm end to end (included from CMakeLists.txt): images from
# the assembler's golden sources, listings that assemble back to the same
# bytes, readelf's view of an image, and one-line errors.
set(asm_data ${PROJECT_SOURCE_DIR}/tests/compiler/data/asm)
set(npu_bin $<TARGET_FILE:npu>)

npu_cli_test(help_as ARGS as --help EXPECT "--listing.*--json")
npu_cli_test(as ARGS as ${asm_data}/basic.s -o ${out}/asm/basic.npu --listing ${out}/asm/basic.lst
             EXPECT "wrote .*basic.npu: 143 instructions, 0 data bytes, 7 symbols, entry 0")
npu_cli_test(as_json ARGS as --json ${asm_data}/directives.s -o ${out}/asm/directives.npu
             EXPECT "\"name\": \"\\.rodata\\.fixed\".*\"symbols\"")
npu_cli_test(as_cpp ARGS as ${asm_data}/cpp.S --base .data=0x1000 -o ${out}/asm/cpp.npu
             EXPECT "wrote .*cpp.npu: 7 instructions, 24 data bytes")
npu_cli_test(disasm ARGS disasm ${out}/asm/basic.npu
             EXPECT "_start:\n +0: 0000000000000000  nop\n.*jal r30, helper")
npu_cli_test(disasm_json ARGS disasm --json ${out}/asm/directives.npu
             EXPECT "\"text\": \"jmp entry_point\".*\"bytes\": \"0c000000")
set_tests_properties(cli.disasm PROPERTIES DEPENDS cli.as)
set_tests_properties(cli.disasm_json PROPERTIES DEPENDS cli.as_json)

# as -> disasm --raw -> as: the same image, byte for byte.
foreach(src basic.s directives.s sized.s cpp.S)
  set(img ${out}/asm/rt_${src}.npu)
  add_test(NAME cli.asm_roundtrip.${src}
           COMMAND sh -c "set -e; '${npu_bin}' as '${asm_data}/${src}' -o '${img}'; \
'${npu_bin}' disasm --raw '${img}' > '${img}.s'; \
'${npu_bin}' as '${img}.s' -o '${img}.again'; cmp '${img}' '${img}.again'")
  set_tests_properties(cli.asm_roundtrip.${src} PROPERTIES LABELS unit)
endforeach()

find_program(READELF readelf)
if(READELF)
  add_test(NAME cli.asm_readelf COMMAND ${READELF} -h -S -s ${out}/asm/directives.npu)
  set_tests_properties(cli.asm_readelf PROPERTIES LABELS unit DEPENDS cli.as_json
    PASS_REGULAR_EXPRESSION "Machine: +<unknown>: 0x4e50.*\\.rodata\\.fixed.*GLOBAL DEFAULT +1 entry_point"
    FAIL_REGULAR_EXPRESSION "Warning|Error")
endif()

npu_cli_error(as_undefined "undefined\\.s:3:17: error: undefined symbol 'nowhere'$"
              as ${asm_data}/bad/undefined.s -o ${out}/asm/bad.npu)
npu_cli_error(as_missing "/nonexistent\\.s: cannot open" as /nonexistent.s -o ${out}/asm/bad.npu)
npu_cli_error(as_bad_base "--base 'text': expected SECTION=ADDRESS"
              as ${asm_data}/basic.s --base text -o ${out}/asm/bad.npu)
npu_cli_error(disasm_not_elf "basic\\.s: not an ELF file" disasm ${asm_data}/basic.s)
npu_cli_error(disasm_missing "/nonexistent\\.npu: cannot open" disasm /nonexistent.npu)
