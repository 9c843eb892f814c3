require "json"

module Greetings
  class Greeter
    def initialize(name)
      @name = name
    end

    def greet
      format_greeting(@name)
    end

    def self.default
      Greeter.new("world")
    end
  end
end
