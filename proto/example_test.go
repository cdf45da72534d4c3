package proto_test

import (
	"fmt"
	"strings"

	"github.com/shoal-kv/shoal/proto"
)

func ExampleReader_ReadCommand() {
	in := "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\nGET \"a b\"\r\n*1\r\n+PING\r\n"
	rd := proto.NewReader(strings.NewReader(in), proto.DefaultLimits())
	for {
		args, err := rd.ReadCommand()
		if err != nil {
			fmt.Println("error:", err)
			return
		}
		fmt.Printf("%q\n", args)
	}
	// Output:
	// ["SET" "k" "v"]
	// ["GET" "a b"]
	// error: Protocol error: expected '$', got '+'
}

func ExampleReader_ReadReply() {
	in := "+OK\r\n-WRONGTYPE Operation against a key holding the wrong kind of value\r\n*2\r\n$1\r\na\r\n$-1\r\n"
	rd := proto.NewReader(strings.NewReader(in), proto.DefaultLimits())
	for range 3 {
		frame, _ := rd.ReadReply()
		v, _ := proto.ParseReply(frame)
		fmt.Printf("%q -> %v (err: %v)\n", frame, v, v.Err())
	}
	// Output:
	// "+OK\r\n" -> OK (err: <nil>)
	// "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n" -> (error) WRONGTYPE Operation against a key holding the wrong kind of value (err: WRONGTYPE Operation against a key holding the wrong kind of value)
	// "*2\r\n$1\r\na\r\n$-1\r\n" -> ["a", (nil)] (err: <nil>)
}

func ExampleResolve() {
	for _, req := range []string{"get k", "get", "config nope", "nosuch a b"} {
		args := toArgs(req)
		spec, err := proto.Resolve(args)
		if err != nil {
			fmt.Println(err)
			continue
		}
		fmt.Println(spec.FullName, spec.Arity, spec.Flags.Names(), spec.Keys(args))
	}
	// Output:
	// get 2 [readonly fast] [1]
	// ERR wrong number of arguments for 'get' command
	// ERR unknown subcommand 'nope'. Try CONFIG HELP.
	// ERR unknown command 'nosuch', with args beginning with: 'a' 'b'
}

func ExampleCommandSpec_AppendKeys() {
	args := toArgs("ZUNIONSTORE dest 2 a b WEIGHTS 1 2")
	spec := proto.LookupCommand(args)
	for _, i := range spec.AppendKeys(nil, args) {
		fmt.Print(string(args[i]), " ")
	}
	fmt.Println()
	// Output: dest a b
}

func ExampleAppendFloatHuman() {
	a, _ := proto.ParseLongDouble([]byte("0.1"))
	b, _ := proto.ParseLongDouble([]byte("0.2"))
	fmt.Println(proto.FormatFloatHuman(a.Add(b)), proto.FormatFloat(0.1))
	// Output: 0.3 0.10000000000000001
}

func toArgs(s string) [][]byte {
	var out [][]byte
	for _, f := range strings.Fields(s) {
		out = append(out, []byte(f))
	}
	return out
}
