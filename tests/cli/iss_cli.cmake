# npu iss end to end (included from CMakeLists.txt): a small program on two
# threads, its trace, the firmware waiting for work, and one-line errors.
set(iss_data ${CMAKE_CURRENT_SOURCE_DIR}/data)
npu_cli_test(iss_as ARGS as ${iss_data}/iss.s -o ${out}/iss.npu EXPECT "wrote .*iss.npu: 6 instructions")
npu_cli_test(iss ARGS iss ${out}/iss.npu --threads 2 --regs
             EXPECT "stopped: idle.*t0 +halted +pc 6 +33 instructions\n +r2=0x37\n +t1 +halted.*r1=0x1 r2=0x37")
npu_cli_test(iss_trace ARGS iss ${out}/iss.npu --trace -
             EXPECT "c0.t0 @ +1  0000  csrr r1, tid +r1=0x0\nc0.t0 @ +2  0001  li r3, 10 +r3=0xa")
npu_cli_test(iss_json ARGS iss ${out}/iss.npu --json EXPECT "\"state\": \"halted\"")
set_tests_properties(cli.iss cli.iss_trace cli.iss_json PROPERTIES DEPENDS cli.iss_as)
npu_cli_test(iss_firmware ARGS iss ${NPU_FIRMWARE} --threads 4
             EXPECT "t3 +queue-wait")
npu_cli_error(iss_bad_timing "bad_timing\\.yaml: cycles: no instruction 'nope'$"
              iss ${out}/iss.npu --timing ${iss_data}/bad_timing.yaml)
set_tests_properties(cli.error.iss_bad_timing PROPERTIES DEPENDS cli.iss_as)
