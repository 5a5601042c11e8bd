# frozen_string_literal: true

require 'json'
require 'set'
require_relative 'errors'

# Inventory keeps stock levels per SKU and records every movement.
#
# It is deliberately small: a hash of counts, an append-only journal and a
# handful of queries that reporting code needs. Persistence is left to the
# caller (see #to_h and .from_h).
module Warehouse
  VERSION = '2.4.1'
  DEFAULT_LOW_WATER = 5

  class OutOfStock < StandardError
    attr_reader :sku, :requested, :available

    def initialize(sku, requested, available)
      @sku = sku
      @requested = requested
      @available = available
      super("#{sku}: requested #{requested}, only #{available} left")
    end
  end

  Movement = Struct.new(:sku, :delta, :reason, :at, keyword_init: true) do
    def inbound?
      delta.positive?
    end

    def to_h
      { sku: sku, delta: delta, reason: reason, at: at.to_s }
    end
  end

  class Inventory
    include Enumerable

    attr_reader :journal
    attr_accessor :low_water

    def self.from_h(data, clock: Time)
      inventory = new(clock: clock, low_water: data.fetch('low_water', DEFAULT_LOW_WATER))
      data.fetch('stock', {}).each do |sku, count|
        inventory.receive(sku, count, reason: 'restore')
      end
      inventory.journal.clear
      inventory
    end

    def initialize(clock: Time, low_water: DEFAULT_LOW_WATER)
      @clock = clock
      @low_water = low_water
      @stock = Hash.new(0)
      @journal = []
      @reserved = Hash.new(0)
    end

    def each(&block)
      return enum_for(:each) unless block

      @stock.sort.each(&block)
    end

    def receive(sku, count, reason: 'delivery')
      raise ArgumentError, "count must be positive, got #{count}" unless count.positive?

      @stock[sku] += count
      record(sku, count, reason)
      count
    end

    def ship(sku, count, reason: 'order')
      available = available_for(sku)
      raise OutOfStock.new(sku, count, available) if count > available

      @stock[sku] -= count
      @stock.delete(sku) if @stock[sku].zero?
      record(sku, -count, reason)
      count
    end

    def reserve(sku, count)
      available = available_for(sku)
      return false if count > available

      @reserved[sku] += count
      true
    end

    def release(sku, count)
      current = @reserved[sku]
      @reserved[sku] = [current - count, 0].max
      @reserved.delete(sku) if @reserved[sku].zero?
      current - @reserved[sku]
    end

    def available_for(sku)
      @stock[sku] - @reserved[sku]
    end

    def low_stock
      select { |_sku, count| count <= low_water }.map(&:first)
    end

    def movements_for(sku, since: nil)
      @journal.select do |movement|
        movement.sku == sku && (since.nil? || movement.at >= since)
      end
    end

    def turnover(since:)
      totals = Hash.new(0)
      @journal.each do |movement|
        next if movement.at < since
        next if movement.inbound?

        totals[movement.sku] += -movement.delta
      end
      totals.sort_by { |sku, shipped| [-shipped, sku] }.to_h
    end

    def to_h
      {
        'low_water' => low_water,
        'stock' => @stock.sort.to_h,
        'reserved' => @reserved.sort.to_h
      }
    end

    def to_json(*args)
      to_h.to_json(*args)
    end

    private

    def record(sku, delta, reason)
      @journal << Movement.new(sku: sku, delta: delta, reason: reason, at: @clock.now)
    end
  end

  class Report
    HEADER = %w[sku on_hand reserved status].freeze

    def initialize(inventory, io: $stdout)
      @inventory = inventory
      @io = io
    end

    def print
      @io.puts HEADER.join("\t")
      @inventory.each do |sku, count|
        status = count <= @inventory.low_water ? 'LOW' : 'ok'
        reserved = count - @inventory.available_for(sku)
        @io.puts [sku, count, reserved, status].join("\t")
      end
      @io.puts
      @io.puts "#{@inventory.count} SKUs, #{@inventory.low_stock.size} low"
    end

    def self.csv(inventory)
      lines = [HEADER.join(',')]
      inventory.each do |sku, count|
        lines << [sku, count, count - inventory.available_for(sku), ''].join(',')
      end
      lines.join("\n")
    end
  end
end

if $PROGRAM_NAME == __FILE__
  inventory = Warehouse::Inventory.new
  inventory.receive('apple', 12)
  inventory.receive('pear', 3)
  inventory.ship('apple', 4)
  Warehouse::Report.new(inventory).print
end
